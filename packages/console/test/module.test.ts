import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { HttpApp } from '@stella/platform';
import Fastify from 'fastify';
import { CONSOLE_BUILD_COMMAND, CONSOLE_CSP, createConsoleModule, signInProvider } from '../src/index.ts';

const BUILT_IN = { authorizationEndpoint: '', tokenEndpoint: '', clientId: 'stella-console', scope: '' };
const EXTERNAL_AUTH = { externalIssuer: 'https://idp.example', externalJwksUrl: 'https://idp.example/jwks' };

/** The parts of the configuration the console reads. */
function configOf(oidc: Partial<typeof BUILT_IN> = {}, auth: Partial<typeof EXTERNAL_AUTH> = {}) {
  return {
    console: { oidc: { ...BUILT_IN, ...oidc } },
    auth: { externalIssuer: '', externalJwksUrl: '', ...auth },
  } as unknown as Parameters<typeof signInProvider>[0];
}

async function consoleApp(distDir: string, config = configOf()) {
  const app = Fastify();
  await createConsoleModule({ distDir }).routes!(app as unknown as HttpApp, { config } as never);
  return app;
}

test('without a build, /console/ answers 503 naming the build command, under the CSP', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'stella-console-'));
  t.after(() => rmSync(empty, { recursive: true, force: true }));
  const app = await consoleApp(join(empty, 'dist'));
  for (const url of ['/console/', '/console/overview']) {
    const response = await app.inject({ method: 'GET', url });
    assert.equal(response.statusCode, 503, url);
    assert.match(response.headers['content-type'] as string, /^text\/plain/);
    assert.ok(response.body.includes(CONSOLE_BUILD_COMMAND), response.body);
    assert.equal(response.headers['content-security-policy'], CONSOLE_CSP);
  }
});

test('sign-in provider: the built-in authority by default, an external one only when fully configured', async (t) => {
  assert.deepEqual(signInProvider(configOf()), {
    authorizationEndpoint: '/authorize',
    tokenEndpoint: '/token',
    clientId: 'stella-console',
    scope: '',
    external: false,
  });
  const oidc = {
    authorizationEndpoint: 'https://idp.example/authorize',
    tokenEndpoint: 'https://idp.example:8443/token',
  };
  assert.deepEqual(signInProvider(configOf({ ...oidc, scope: 'openid' }, EXTERNAL_AUTH)), {
    ...oidc,
    clientId: 'stella-console',
    scope: 'openid',
    external: true,
  });
  const refusals: [Parameters<typeof configOf>, RegExp][] = [
    [[{ authorizationEndpoint: oidc.authorizationEndpoint }, EXTERNAL_AUTH], /needs both/],
    [[{ ...oidc, tokenEndpoint: '/token' }, EXTERNAL_AUTH], /tokenEndpoint must be an absolute http\(s\) URL/],
    [[{ ...oidc, authorizationEndpoint: 'javascript:alert(1)' }, EXTERNAL_AUTH], /authorizationEndpoint must be/],
    [[oidc, {}], /auth.externalIssuer/],
  ];
  for (const [args, message] of refusals) {
    assert.throws(
      () => signInProvider(configOf(...args)),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_CONFIG');
        assert.match(e.message, message);
        return true;
      },
    );
  }

  // Served to the page, never cached, and the provider's token origin is the only other one it may fetch from.
  const empty = mkdtempSync(join(tmpdir(), 'stella-console-'));
  t.after(() => rmSync(empty, { recursive: true, force: true }));
  const app = await consoleApp(join(empty, 'dist'), configOf(oidc, EXTERNAL_AUTH));
  const response = await app.inject({ method: 'GET', url: '/console/config.json' });
  assert.equal(response.statusCode, 200);
  assert.equal(response.headers['cache-control'], 'no-store');
  assert.equal(response.json().tokenEndpoint, oidc.tokenEndpoint);
  assert.match(
    response.headers['content-security-policy'] as string,
    /connect-src 'self' https:\/\/idp\.example:8443;/,
  );
});
