// POST /token over app.inject(): both client authentication methods, every RFC 6749 §5.2 refusal we
// promise, and the public JWKS and discovery documents.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { createTokenVerifier, migrate, SCOPES } from '@stella/platform';
import { scratchDir, type TestDb, testBackend, testDb } from '@stella/testkit';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { decodeProtectedHeader } from 'jose';
import { bootstrapAuthority, type CredentialsFile } from '../src/clients.ts';
import { authorityMigrations } from '../src/module.ts';
import { registerAuthorityRoutes } from '../src/routes.ts';

const ISSUER = 'http://127.0.0.1:8440';
const FORM = 'application/x-www-form-urlencoded';

describe(`POST /token on ${testBackend()}`, () => {
  let t: TestDb;
  let app: FastifyInstance;
  let creds: CredentialsFile['clients'];

  before(async () => {
    t = await testDb();
    await migrate(t.db, [{ module: 'authority', migrations: authorityMigrations }]);
    const home = scratchDir('stella-token-');
    const { credentialsFile } = await bootstrapAuthority(t.db, { home });
    creds = (JSON.parse(readFileSync(credentialsFile!, 'utf8')) as CredentialsFile).clients;
    app = Fastify();
    registerAuthorityRoutes(app, {
      db: t.db,
      issuer: () => `${ISSUER}/`,
      config: { audience: 'stella', tokenTtlSeconds: 300, clockSkewSeconds: 30 },
    });
    // Another room's JSON route on the same app: the form parser must not change how it works.
    app.post('/echo', async (request) => ({ got: request.body }));
    await app.ready();
  });
  after(async () => {
    await app.close();
    await t.close();
  });

  const admin = () => creds['stella-admin']!;
  const aocVerify = () => creds['stella-aoc-verify']!;

  function form(fields: Record<string, string>, headers: Record<string, string> = {}) {
    return app.inject({
      method: 'POST',
      url: '/token',
      headers: { 'content-type': FORM, ...headers },
      payload: new URLSearchParams(fields).toString(),
    });
  }

  function withSecret(client: { clientId: string; clientSecret: string }, fields: Record<string, string> = {}) {
    return form({
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: client.clientSecret,
      ...fields,
    });
  }

  function basic(id: string, secret: string): string {
    const enc = (s: string) => encodeURIComponent(s);
    return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
  }

  function assertOAuthError(response: LightMyRequestResponse, status: number, error: string, description?: RegExp) {
    assert.equal(response.statusCode, status, response.body);
    assert.match(String(response.headers['content-type']), /^application\/json/);
    assert.equal(response.headers['cache-control'], 'no-store');
    const body = response.json() as { error: string; error_description: string };
    assert.equal(body.error, error);
    assert.equal(typeof body.error_description, 'string');
    if (description) assert.match(body.error_description, description);
    return body;
  }

  const verifier = () =>
    createTokenVerifier({
      issuer: `${ISSUER}/`,
      audience: 'stella',
      clockSkewSeconds: 30,
      keys: { kind: 'local', jwks: async () => (await app.inject({ url: '/.well-known/jwks.json' })).json() },
    });

  test('form-body credentials get a token with every client scope by default', async () => {
    const response = await withSecret(admin());
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.headers['cache-control'], 'no-store');
    const body = response.json() as { access_token: string; token_type: string; expires_in: number; scope: string };
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, 300);
    assert.deepEqual(body.scope.split(' '), [...SCOPES]);
    const header = decodeProtectedHeader(body.access_token);
    assert.equal(header.alg, 'EdDSA');
    assert.equal(header.typ, 'at+jwt');
    assert.equal(typeof header.kid, 'string');
    const principal = await verifier().verify(body.access_token);
    assert.equal(principal.subject, 'stella-admin');
    assert.deepEqual(principal.tenants, ['default']);
    assert.equal(principal.scopes.size, SCOPES.length);
  });

  test('HTTP Basic credentials work too', async () => {
    const response = await form(
      { grant_type: 'client_credentials', scope: 'aoc:verify advisory:read' },
      { authorization: basic(aocVerify().clientId, aocVerify().clientSecret) },
    );
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.json().scope, 'advisory:read aoc:verify');
    const principal = await verifier().verify(response.json().access_token);
    assert.deepEqual([...principal.scopes].sort(), ['advisory:read', 'aoc:verify']);
  });

  test('a wrong secret and an unknown client are the same 401 invalid_client', async () => {
    const wrong = assertOAuthError(
      await withSecret({ ...admin(), clientSecret: `${admin().clientSecret}x` }),
      401,
      'invalid_client',
    );
    const unknown = assertOAuthError(
      await withSecret({ clientId: 'nobody', clientSecret: admin().clientSecret }),
      401,
      'invalid_client',
    );
    assert.equal(wrong.error_description, unknown.error_description);
    const missing = await form({ grant_type: 'client_credentials' });
    assertOAuthError(missing, 401, 'invalid_client');
    assert.equal(missing.headers['www-authenticate'], undefined);
  });

  test('a failed HTTP Basic authentication answers WWW-Authenticate: Basic', async () => {
    const response = await form({ grant_type: 'client_credentials' }, { authorization: basic('stella-admin', 'nope') });
    assertOAuthError(response, 401, 'invalid_client');
    assert.match(String(response.headers['www-authenticate']), /^Basic realm="stella"/);
  });

  test('unknown scopes, scopes the client lacks and a lone aoc:verify are invalid_scope', async () => {
    assertOAuthError(await withSecret(admin(), { scope: 'advisory:read root' }), 400, 'invalid_scope', /'root'/);
    assertOAuthError(
      await withSecret(admin(), { scope: 'aoc:verify' }),
      400,
      'invalid_scope',
      /only granted together with/,
    );
    assertOAuthError(
      await withSecret(aocVerify(), { scope: 'advisory:ingest' }),
      400,
      'invalid_scope',
      /'advisory:ingest' is not allowed/,
    );
    const ok = await withSecret(aocVerify(), { scope: 'aoc:verify vex:read' });
    assert.equal(ok.statusCode, 200, ok.body);
  });

  test('grant types other than client_credentials are unsupported_grant_type; none at all is invalid_request', async () => {
    assertOAuthError(
      await withSecret(admin(), { grant_type: 'password' }),
      400,
      'unsupported_grant_type',
      /client_credentials/,
    );
    assertOAuthError(
      await form({ client_id: admin().clientId, client_secret: admin().clientSecret }),
      400,
      'invalid_request',
      /grant_type is required/,
    );
  });

  test('a JSON body is refused with a clear invalid_request, and other JSON routes still parse JSON', async () => {
    const json = await app.inject({
      method: 'POST',
      url: '/token',
      payload: { grant_type: 'client_credentials', client_id: admin().clientId, client_secret: admin().clientSecret },
    });
    assertOAuthError(json, 400, 'invalid_request', /application\/x-www-form-urlencoded.*not application\/json/);
    const xml = await app.inject({
      method: 'POST',
      url: '/token',
      headers: { 'content-type': 'application/xml' },
      payload: '<grant/>',
    });
    assertOAuthError(xml, 400, 'invalid_request', /application\/x-www-form-urlencoded/);
    const echo = await app.inject({ method: 'POST', url: '/echo', payload: { a: 1 } });
    assert.equal(echo.statusCode, 200);
    assert.deepEqual(echo.json(), { got: { a: 1 } });
  });

  test('a tenant the client is not assigned to is invalid_scope; a malformed one invalid_request', async () => {
    assertOAuthError(await withSecret(admin(), { tenant: 'acme' }), 400, 'invalid_scope', /tenant 'acme'/);
    assertOAuthError(await withSecret(admin(), { tenant: 'NOT valid' }), 400, 'invalid_request', /tenant/);
    const ok = await withSecret(admin(), { tenant: 'default' });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual((await verifier().verify(ok.json().access_token)).tenants, ['default']);
  });

  test('repeated parameters, two authentication methods and oversized bodies are refused', async () => {
    const repeated = await app.inject({
      method: 'POST',
      url: '/token',
      headers: { 'content-type': FORM },
      payload: `grant_type=client_credentials&client_id=stella-admin&client_secret=${encodeURIComponent(admin().clientSecret)}&scope=vex:read&scope=root`,
    });
    assertOAuthError(repeated, 400, 'invalid_request', /scope must not be repeated/);
    const both = await form(
      { grant_type: 'client_credentials', client_secret: admin().clientSecret },
      { authorization: basic(admin().clientId, admin().clientSecret) },
    );
    assertOAuthError(both, 400, 'invalid_request', /one client authentication method/);
    const huge = await form({ grant_type: 'client_credentials', pad: 'x'.repeat(20_000) });
    assertOAuthError(huge, 413, 'invalid_request', /16384 bytes/);
  });

  test('the JWKS publishes public keys only, and discovery points at this server', async () => {
    const jwksResponse = await app.inject({ url: '/.well-known/jwks.json' });
    assert.equal(jwksResponse.statusCode, 200);
    const { keys } = jwksResponse.json() as { keys: Record<string, string>[] };
    assert.equal(keys.length, 1);
    assert.equal(keys[0]!.kty, 'OKP');
    assert.equal(keys[0]!.crv, 'Ed25519');
    assert.equal(keys[0]!.alg, 'EdDSA');
    assert.equal(keys[0]!.use, 'sig');
    assert.equal(keys[0]!.d, undefined, 'no private key material');

    const discovery = (await app.inject({ url: '/.well-known/openid-configuration' })).json();
    assert.deepEqual(discovery, {
      issuer: `${ISSUER}/`,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      token_endpoint: `${ISSUER}/token`,
      authorization_endpoint: `${ISSUER}/authorize`,
      grant_types_supported: ['client_credentials', 'authorization_code'],
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      scopes_supported: [...SCOPES],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic', 'none'],
      id_token_signing_alg_values_supported: ['EdDSA'],
    });
  });

  test('each route carries OpenAPI tags and a summary', () => {
    const routes: { url: string; tags?: string[]; summary?: string }[] = [];
    const probe = Fastify();
    probe.addHook('onRoute', (route) => {
      const schema = route.schema as { tags?: string[]; summary?: string } | undefined;
      // Fastify adds a HEAD twin for every GET; list each route once.
      if (route.method === 'HEAD') return;
      routes.push({ url: route.url, tags: schema?.tags, summary: schema?.summary });
    });
    registerAuthorityRoutes(probe, {
      db: t.db,
      issuer: () => ISSUER,
      config: { audience: 'stella', tokenTtlSeconds: 300, clockSkewSeconds: 30 },
    });
    assert.deepEqual(routes.map((r) => r.url).sort(), [
      '/.well-known/jwks.json',
      '/.well-known/openid-configuration',
      '/authorize',
      '/authorize',
      '/authorize/sign-out',
      '/token',
    ]);
    for (const r of routes) {
      assert.deepEqual(r.tags, ['authority'], r.url);
      assert.ok(r.summary && r.summary.length > 10, r.url);
    }
    return probe.close();
  });
});
