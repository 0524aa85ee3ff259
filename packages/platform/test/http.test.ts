import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Errors, StellaError } from '@stella/core';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import Type from 'typebox';
import { createTokenVerifier } from '../src/auth/index.ts';
import { createHttpApp, createLogger, type HttpApp, microserviceOf, type Readiness } from '../src/http/index.ts';
import { createMetricsRegistry } from '../src/metrics/index.ts';

const ISSUER = 'http://issuer.test';

describe('HTTP factory', () => {
  let app: HttpApp;
  let readiness: Readiness;
  let healthy = true;
  let logged = '';
  let sign: (claims: Record<string, unknown>, expiresAt?: number) => Promise<string>;

  before(async () => {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA', use: 'sig' };
    sign = (claims, expiresAt) =>
      new SignJWT({ scope: 'timeline:read', tid: 'acme', ...claims })
        .setProtectedHeader({ alg: 'EdDSA', kid: 'k1', typ: 'at+jwt' })
        .setIssuer(ISSUER)
        .setAudience('stella')
        .setSubject('client-a')
        .setJti('j1')
        .setIssuedAt()
        .setExpirationTime(expiresAt ?? '5m')
        .sign(privateKey);
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logged += chunk.toString();
        cb();
      },
    });
    ({ app, readiness } = await createHttpApp({
      logger: createLogger({ level: 'debug', destination: sink }),
      registry: createMetricsRegistry({ defaultMetrics: false }),
      requestBodyBytes: 1024,
      tenantHeader: 'X-Stella-Tenant',
      verifier: createTokenVerifier({
        issuer: ISSUER,
        audience: 'stella',
        clockSkewSeconds: 0,
        keys: { kind: 'local', jwks: async () => ({ keys: [jwk] }) },
      }),
      docsUi: false,
      version: 'test',
    }));
    readiness.addCheck('dependency', async () => {
      if (!healthy) throw new Error('dependency down');
    });
    app.post(
      '/things',
      {
        config: { auth: { scopes: ['timeline:read'] } },
        schema: { body: Type.Object({ name: Type.String({ maxLength: 10 }) }) },
      },
      async (request) => ({ tenant: request.tenant, name: request.body.name }),
    );
    app.get('/boom', async () => {
      throw new Error('secret internals');
    });
    app.get('/coded', async () => {
      throw new StellaError(Errors.conflict, 'already there', { details: { resource: 'x' } });
    });
    await app.ready();
  });
  after(() => app.close());

  test('/readyz is 503 until started, 200 when checks pass, 503 when one fails or while stopping', async () => {
    assert.equal((await app.inject('/readyz')).statusCode, 503);
    readiness.markStarted();
    assert.equal((await app.inject('/readyz')).statusCode, 200);
    healthy = false;
    const down = await app.inject('/readyz');
    assert.equal(down.statusCode, 503);
    assert.equal(down.json().checks.dependency, 'dependency down');
    healthy = true;
    readiness.markStopping();
    assert.equal((await app.inject('/readyz')).statusCode, 503);
  });

  test('request ids are echoed when well-formed and replaced otherwise', async () => {
    const kept = await app.inject({ url: '/healthz', headers: { 'x-stella-request-id': 'req-123' } });
    assert.equal(kept.headers['x-stella-request-id'], 'req-123');
    const replaced = await app.inject({ url: '/healthz', headers: { 'x-stella-request-id': 'bad id\n<script>' } });
    assert.match(String(replaced.headers['x-stella-request-id']), /^[0-9A-Z]{26}$/);
  });

  test('an authorised request resolves the tenant from the token and logs it, never the token', async () => {
    const token = await sign({});
    const res = await app.inject({
      method: 'POST',
      url: '/things',
      headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': 'acme' },
      payload: { name: 'n' },
    });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { tenant: 'acme', name: 'n' });
    assert.match(logged, /"tenant":"acme"/);
    assert.ok(!logged.includes(token), 'the bearer token never reaches the log');
  });

  test('errors become problem+json with registered codes; internals are not leaked', async () => {
    const boom = await app.inject('/boom');
    assert.equal(boom.statusCode, 500);
    assert.equal(boom.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(boom.json().code, 'ERR_INTERNAL');
    assert.ok(!boom.body.includes('secret internals'));

    const coded = await app.inject('/coded');
    assert.equal(coded.statusCode, 409);
    assert.equal(coded.json().code, 'ERR_CONFLICT');
    assert.equal(coded.json().resource, 'x');

    const token = await sign({});
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const tooBig = await app.inject({
      method: 'POST',
      url: '/things',
      headers,
      payload: JSON.stringify({ name: 'x'.repeat(2000) }),
    });
    assert.equal(tooBig.statusCode, 413);
    assert.equal(tooBig.json().code, 'ERR_BODY_TOO_LARGE');
    const invalid = await app.inject({
      method: 'POST',
      url: '/things',
      headers,
      payload: JSON.stringify({ name: 'x'.repeat(20) }),
    });
    assert.equal(invalid.json().code, 'ERR_VALIDATION');
    const expired = await sign({}, Math.floor(Date.now() / 1000) - 60);
    const stale = await app.inject({
      method: 'POST',
      url: '/things',
      headers: { ...headers, authorization: `Bearer ${expired}` },
      payload: { name: 'n' },
    });
    assert.equal(stale.statusCode, 401);
    assert.equal(stale.json().code, 'ERR_AUTH_INVALID_TOKEN');
  });

  test('microserviceOf names the room of a path for rate limits', () => {
    assert.equal(microserviceOf('/api/v1/timeline/events?x=1'), 'timeline');
    assert.equal(microserviceOf('/signals/runtime-facts'), 'signals');
    assert.equal(microserviceOf('/api/export/runs'), 'export');
    assert.equal(microserviceOf('/'), 'root');
  });
});
