// The console signing in with an external OIDC provider instead of its own authority, in Chromium:
// the provider is a second stella (its authority is a standard OAuth 2.0 authorization server with
// PKCE), configured to let the first one's console sign in (auth.consoleOrigins), and the first one
// trusts its tokens (auth.externalIssuer, console.oidc). The two run on different loopback addresses,
// so the console's origin is known before either starts and no port is guessed.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { testBackend } from '@stella/testkit';
import type { Browser } from 'playwright-core';
import { consolePageProblems, createUser, launchChromium, openPage, screenshot } from '../console-kit.ts';
import { startTestServer, type TestServer } from '../helpers.ts';

/** The console's own address: nothing else in the suite binds 127.0.0.2, so the port stays free. */
const CONSOLE_HOST = '127.0.0.2';

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface Discovery {
  issuer: string;
  jwks_uri: string;
  authorization_endpoint: string;
  token_endpoint: string;
}

describe(`console sign-in with an external OIDC provider (${testBackend()})`, () => {
  let provider: TestServer;
  let stella: TestServer;
  let consoleOrigin: string;
  let discovery: Discovery;
  let browser: Browser;

  before(async () => {
    const port = await freePort(CONSOLE_HOST);
    consoleOrigin = `http://${CONSOLE_HOST}:${port}`;
    provider = await startTestServer({}, `auth:\n  consoleOrigins: ["${consoleOrigin}"]\n`);
    discovery = (await (await fetch(`${provider.base}/.well-known/openid-configuration`)).json()) as Discovery;
    // Configured from the provider's discovery document, as an operator would.
    stella = await startTestServer(
      { STELLA_SERVER_HOST: CONSOLE_HOST, STELLA_SERVER_PORT: String(port) },
      [
        'auth:',
        `  externalIssuer: "${discovery.issuer}"`,
        `  externalJwksUrl: "${discovery.jwks_uri}"`,
        'console:',
        '  oidc:',
        `    authorizationEndpoint: "${discovery.authorization_endpoint}"`,
        `    tokenEndpoint: "${discovery.token_endpoint}"`,
        '',
      ].join('\n'),
    );
    assert.equal(stella.base, consoleOrigin);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await stella?.close();
    await provider?.close();
  });

  test("signs in on the provider's page, redeems the code there from the browser, and works on this server", async () => {
    const password = await createUser(provider, 'ivy', 'operator');
    const { page, problems } = await openPage(browser);
    await page.goto(`${stella.base}/console/`);
    // The provider's own sign-in form, on its origin.
    await page.waitForURL((url) => url.href.startsWith(discovery.authorization_endpoint));
    await page.getByLabel('Username').fill('ivy');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${stella.base}/console/overview`);
    assert.match((await page.getByLabel('Signed in as').textContent())!, /ivy.*Role\s*operator.*Tenant\s*default/s);

    // This server's API accepts the provider's token: its own timeline (its bootstrap), not the provider's.
    await page.getByRole('link', { name: 'Timeline' }).click();
    await page.getByRole('heading', { level: 1, name: 'Timeline' }).waitFor();
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await page.getByText('Chain verified from genesis').waitFor();
    await screenshot(page, 'external-oidc-timeline');

    // Signing out drops the token here and leaves the provider's session alone: no request goes to it.
    const toProvider: string[] = [];
    page.on('request', (request) => {
      if (request.url().startsWith(provider.base)) toProvider.push(request.url());
    });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${stella.base}/console/signed-out`);
    assert.deepEqual(toProvider, []);
    assert.deepEqual(consolePageProblems(problems), []);
    await page.close();
  });

  test('the provider sends codes only to configured consoles and answers CORS only to them', async () => {
    const authorize = (redirect: string) =>
      fetch(
        `${discovery.authorization_endpoint}?${new URLSearchParams({
          response_type: 'code',
          client_id: 'stella-console',
          redirect_uri: redirect,
          code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
          code_challenge_method: 'S256',
          state: 's',
        })}`,
        { redirect: 'manual' },
      );
    assert.equal((await authorize(`${consoleOrigin}/console/callback`)).status, 200);
    const elsewhere = await authorize('http://127.0.0.3:1/console/callback');
    assert.equal(elsewhere.status, 400);
    assert.equal(elsewhere.headers.get('location'), null);

    const token = (origin: string) =>
      fetch(discovery.token_endpoint, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', client_id: 'stella-console', code: 'x' }),
      });
    const allowed = await token(consoleOrigin);
    assert.equal(allowed.status, 400);
    assert.equal(allowed.headers.get('access-control-allow-origin'), consoleOrigin);
    assert.equal((await token('http://127.0.0.3:1')).headers.get('access-control-allow-origin'), null);

    // The console's page may fetch from the provider's token endpoint, and from nowhere else.
    const page = await fetch(`${stella.base}/console/`);
    assert.match(
      page.headers.get('content-security-policy') ?? '',
      new RegExp(`connect-src 'self' ${new URL(discovery.token_endpoint).origin};`),
    );
  });
});
