// The resource-server token checks: every way a token can be wrong is refused with
// ERR_AUTH_INVALID_TOKEN naming the check, and authorize() resolves scopes and tenants.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { StellaError } from '@stella/core';
import {
  base64url,
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import {
  AuthErrors,
  authorize,
  createTokenVerifier,
  isKnownScope,
  type Principal,
  SCOPES,
  type TokenVerifier,
  validateScopeSet,
} from '../src/auth/index.ts';

const ISSUER = 'http://127.0.0.1:8440';
const AUDIENCE = 'stella';
const T0 = new Date('2026-01-15T12:00:00Z');
const SKEW = 30;

interface TestKey {
  kid: string;
  alg: 'EdDSA' | 'ES256';
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function makeKey(alg: 'EdDSA' | 'ES256' = 'EdDSA'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return { kid, alg, privateKey, publicJwk: { ...jwk, kid, alg, use: 'sig' } };
}

function sign(
  key: TestKey,
  overrides: { payload?: JWTPayload; iat?: Date; ttl?: number; header?: Record<string, unknown> } = {},
): Promise<string> {
  const iat = Math.floor((overrides.iat ?? T0).getTime() / 1000);
  // Claims are set as one object (not with the builder's setters) so overrides can replace or drop any.
  return new SignJWT({
    iss: ISSUER,
    sub: 'stella-aoc-verify',
    aud: AUDIENCE,
    iat,
    nbf: iat,
    exp: iat + (overrides.ttl ?? 300),
    jti: '5f0c3a52-7c1e-4bde-9a57-0c8a2b1f6d10',
    scope: 'advisory:read aoc:verify',
    tid: 'default',
    ...overrides.payload,
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...overrides.header })
    .sign(key.privateKey);
}

function b64json(value: unknown): string {
  return base64url.encode(JSON.stringify(value));
}

async function rejectsWith(verifier: TokenVerifier, token: string, check: RegExp): Promise<void> {
  await assert.rejects(verifier.verify(token), (error: unknown) => {
    assert.ok(error instanceof StellaError, `expected StellaError, got ${String(error)}`);
    assert.equal(error.code, 'ERR_AUTH_INVALID_TOKEN');
    assert.equal(error.status, 401);
    assert.equal(error.exit, 71);
    assert.match(error.message, check);
    if (token) assert.ok(!error.message.includes(token), 'the message must not echo the token');
    return true;
  });
}

describe('token verifier (local JWKS)', () => {
  let key: TestKey;
  let clock = T0;
  let set: JSONWebKeySet;
  let loads = 0;
  let verifier: TokenVerifier;

  before(async () => {
    key = await makeKey();
    set = { keys: [key.publicJwk] };
    verifier = createTokenVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      clockSkewSeconds: SKEW,
      keys: {
        kind: 'local',
        jwks: async () => {
          loads++;
          return set;
        },
      },
      now: () => clock,
    });
  });

  test('a valid token yields the principal', async () => {
    clock = new Date(T0.getTime() + 10_000);
    const principal = await verifier.verify(await sign(key, { payload: { tid: ['default', 'acme'] } }));
    assert.equal(principal.subject, 'stella-aoc-verify');
    assert.deepEqual([...principal.scopes].sort(), ['advisory:read', 'aoc:verify']);
    assert.deepEqual(principal.tenants, ['default', 'acme']);
    assert.equal(principal.tokenId, '5f0c3a52-7c1e-4bde-9a57-0c8a2b1f6d10');
    assert.equal(principal.expiresAt.toISOString(), '2026-01-15T12:05:00.000Z');
  });

  test('expired tokens are refused once the skew has passed, not before', async () => {
    const token = await sign(key);
    clock = new Date(T0.getTime() + (300 + SKEW - 1) * 1000);
    await verifier.verify(token);
    clock = new Date(T0.getTime() + (300 + SKEW) * 1000);
    await rejectsWith(verifier, token, /token expired/);
  });

  test('a token whose nbf is beyond the skew is not yet valid', async () => {
    clock = T0;
    await verifier.verify(await sign(key, { iat: new Date(T0.getTime() + (SKEW - 1) * 1000) }));
    await rejectsWith(verifier, await sign(key, { iat: new Date(T0.getTime() + 120_000) }), /not yet valid/);
  });

  test('wrong audience and wrong issuer are named', async () => {
    clock = T0;
    await rejectsWith(verifier, await sign(key, { payload: { aud: 'someone-else' } }), /wrong audience/);
    await rejectsWith(verifier, await sign(key, { payload: { iss: 'https://evil.example' } }), /wrong issuer/);
  });

  test('a tampered payload fails the signature check', async () => {
    clock = T0;
    const [header, payload, signature] = (await sign(key)).split('.');
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload!)));
    claims.scope = 'advisory:read aoc:verify advisory:ingest';
    await rejectsWith(verifier, `${header}.${b64json(claims)}.${signature}`, /bad signature/);
  });

  test('alg:none is refused even with a well-formed payload', async () => {
    clock = T0;
    const [, payload] = (await sign(key)).split('.');
    const noneHeader = b64json({ alg: 'none', typ: 'at+jwt', kid: key.kid });
    await rejectsWith(verifier, `${noneHeader}.${payload}.`, /unsupported alg|malformed/);
    await rejectsWith(verifier, `${noneHeader}.${payload}.${b64json('x')}`, /unsupported alg/);
  });

  test('HS256 keyed with the public key bytes (algorithm confusion) is refused', async () => {
    clock = T0;
    const claims = { scope: 'advisory:ingest', tid: 'default', jti: 'x', sub: 'attacker', iss: ISSUER, aud: AUDIENCE };
    for (const secret of [
      base64url.decode(key.publicJwk.x!),
      new TextEncoder().encode(JSON.stringify(key.publicJwk)),
    ]) {
      const forged = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', kid: key.kid, typ: 'at+jwt' })
        .setIssuedAt(Math.floor(T0.getTime() / 1000))
        .setExpirationTime(Math.floor(T0.getTime() / 1000) + 300)
        .sign(secret);
      await rejectsWith(verifier, forged, /unsupported alg/);
    }
  });

  test('a token signed by a key outside the JWKS is refused', async () => {
    clock = T0;
    const stranger = await makeKey();
    await rejectsWith(verifier, await sign(stranger), /bad signature/);
    // The same unknown kid, but pretending to be ours: the signature does not match our key.
    await rejectsWith(verifier, await sign({ ...stranger, kid: key.kid }), /bad signature/);
  });

  test('missing claims, a non-string scope, a bad tid and a wrong typ are refused', async () => {
    clock = T0;
    await rejectsWith(verifier, await sign(key, { payload: { tid: undefined } }), /missing required claim 'tid'/);
    await rejectsWith(verifier, await sign(key, { payload: { scope: ['advisory:read'] } }), /'scope'/);
    await rejectsWith(verifier, await sign(key, { payload: { tid: 'Not_A_Tenant' } }), /'tid'/);
    await rejectsWith(verifier, await sign(key, { header: { typ: 'JWT' } }), /wrong token type/);
    await rejectsWith(verifier, 'not-a-jwt', /malformed/);
    await rejectsWith(verifier, '', /malformed/);
  });

  test('a key added to the JWKS is found at once through the unknown-kid refetch', async () => {
    clock = T0;
    const before = loads;
    await verifier.verify(await sign(key));
    assert.equal(loads, before, 'a recent key set is served from the cache');
    const rotated = await makeKey();
    set = { keys: [rotated.publicJwk, key.publicJwk] };
    await verifier.verify(await sign(rotated));
    assert.equal(loads, before + 1, 'the unknown kid caused exactly one reload');
    await verifier.verify(await sign(key));
  });

  test('ES256 tokens are accepted (external issuers)', async () => {
    clock = T0;
    const ec = await makeKey('ES256');
    set = { keys: [...set.keys, ec.publicJwk] };
    const principal = await verifier.verify(await sign(ec));
    assert.equal(principal.subject, 'stella-aoc-verify');
  });

  test('a failing key loader is a server error, not a 401', async () => {
    const broken = createTokenVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      clockSkewSeconds: SKEW,
      keys: { kind: 'local', jwks: () => Promise.reject(new Error('database is down')) },
      now: () => T0,
    });
    await assert.rejects(broken.verify(await sign(key)), (error: unknown) => {
      assert.ok(error instanceof StellaError);
      assert.equal(error.code, 'ERR_INTERNAL');
      return true;
    });
  });
});

describe('token verifier (remote JWKS)', () => {
  let server: Server;
  let key: TestKey;
  let url: string;
  let fetched = 0;

  before(async () => {
    key = await makeKey('ES256');
    server = createServer((request, response) => {
      if (request.url !== '/jwks') return void response.writeHead(404).end();
      fetched++;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [key.publicJwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('verifies against an external issuer without a typ requirement', async () => {
    const verifier = createTokenVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      clockSkewSeconds: SKEW,
      keys: { kind: 'remote', jwksUrl: url },
      now: () => T0,
    });
    const principal = await verifier.verify(await sign(key, { header: { typ: 'JWT' } }));
    assert.deepEqual(principal.tenants, ['default']);
    assert.equal(fetched, 1);
    await rejectsWith(verifier, await sign(key, { payload: { aud: 'other' } }), /wrong audience/);
  });
});

describe('authorize', () => {
  const principal = (tenants: string[], scopes = ['advisory:read', 'aoc:verify']): Principal => ({
    subject: 'client-a',
    scopes: new Set(scopes),
    tenants,
    tokenId: 'jti-1',
    expiresAt: T0,
  });
  const opts = { tenantHeaderName: 'X-Stella-Tenant' };

  function throwsCode(fn: () => unknown, code: string, status: number, message: RegExp): void {
    assert.throws(fn, (error: unknown) => {
      assert.ok(error instanceof StellaError);
      assert.equal(error.code, code);
      assert.equal(error.status, status);
      assert.match(error.message, message);
      return true;
    });
  }

  test('a missing scope is ERR_AUTH_SCOPE naming the scope', () => {
    throwsCode(
      () => authorize(principal(['default']), { ...opts, scopes: ['advisory:ingest'], tenantHeaderValue: 'default' }),
      'ERR_AUTH_SCOPE',
      403,
      /'advisory:ingest'/,
    );
  });

  test('a tenant not in the token is ERR_AUTH_TENANT_FORBIDDEN', () => {
    throwsCode(
      () => authorize(principal(['default']), { ...opts, scopes: ['advisory:read'], tenantHeaderValue: 'acme' }),
      'ERR_AUTH_TENANT_FORBIDDEN',
      403,
      /not valid for tenant 'acme'/,
    );
  });

  test('a multi-tenant token without the header is ERR_AUTH_TENANT_REQUIRED', () => {
    throwsCode(
      () => authorize(principal(['default', 'acme']), { ...opts, scopes: [], tenantHeaderValue: undefined }),
      'ERR_AUTH_TENANT_REQUIRED',
      400,
      /X-Stella-Tenant/,
    );
  });

  test('the header picks among the token tenants; a single-tenant token needs no header', () => {
    const multi = principal(['default', 'acme']);
    assert.equal(authorize(multi, { ...opts, scopes: ['advisory:read'], tenantHeaderValue: 'acme' }), 'acme');
    assert.equal(authorize(principal(['default']), { ...opts, scopes: [], tenantHeaderValue: undefined }), 'default');
    assert.equal(
      authorize(multi, { ...opts, scopes: [], tenantHeaderValue: undefined, tenantRequired: false }),
      undefined,
    );
  });

  test('a malformed tenant header is ERR_AUTH_INVALID_TENANT and a tenant-less token is forbidden', () => {
    throwsCode(
      () => authorize(principal(['default']), { ...opts, scopes: [], tenantHeaderValue: '../Default' }),
      'ERR_AUTH_INVALID_TENANT',
      400,
      /not a valid tenant id/,
    );
    throwsCode(
      () => authorize(principal([]), { ...opts, scopes: [], tenantHeaderValue: undefined }),
      'ERR_AUTH_TENANT_FORBIDDEN',
      403,
      /any tenant/,
    );
  });
});

describe('scope catalogue', () => {
  test('knows the spec scopes, the internal timeline:write, authority:admin, tenant:admin and metrics:read, and the findings ones', () => {
    assert.equal(SCOPES.length, 29);
    for (const s of [
      'export:profile:manage',
      'orch:backfill',
      'tenant:select',
      'timeline:write',
      'authority:admin',
      'tenant:admin',
      'metrics:read',
      'sbom:ingest',
      'sbom:read',
      'findings:read',
      'findings:write',
      'policy:read',
      'policy:write',
    ])
      assert.ok(isKnownScope(s));
    assert.equal(isKnownScope('advisory:verify'), false);
  });

  test('aoc:verify needs advisory:read or vex:read; unknown scopes are named', () => {
    assert.match(validateScopeSet(['aoc:verify']) ?? '', /only granted together with 'advisory:read' or 'vex:read'/);
    assert.equal(validateScopeSet(['aoc:verify', 'vex:read']), undefined);
    assert.equal(validateScopeSet(['aoc:verify', 'advisory:read']), undefined);
    assert.match(validateScopeSet(['advisory:read', 'root']) ?? '', /unknown scope 'root'/);
    assert.equal(validateScopeSet([]), undefined);
  });

  test('every auth error is registered with exit code 71 except the malformed tenant id', () => {
    for (const def of Object.values(AuthErrors)) {
      assert.equal(def.exit, def.code === 'ERR_AUTH_INVALID_TENANT' ? 2 : 71, def.code);
    }
  });
});
