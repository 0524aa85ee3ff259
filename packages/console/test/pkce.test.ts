import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readClaims } from '../web/auth/claims.ts';
import { authorizeUrl, codeChallenge, randomToken, tokenRequestBody } from '../web/auth/pkce.ts';

test('the S256 challenge is RFC 7636 appendix B', async () => {
  assert.equal(
    await codeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'),
    'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  );
});

test('verifiers are 43 unreserved characters and never repeat', () => {
  const seen = new Set(Array.from({ length: 100 }, randomToken));
  assert.equal(seen.size, 100);
  for (const token of seen) assert.match(token, /^[A-Za-z0-9_-]{43}$/);
});

const BUILT_IN = { authorizationEndpoint: '/authorize', clientId: 'stella-console', scope: '', external: false };

test('the authorize address and the token request carry the public client and the callback', () => {
  const url = new URL(authorizeUrl(BUILT_IN, 'https://stella.example', 'challenge', 'state-1'));
  assert.equal(url.origin, 'https://stella.example');
  assert.equal(url.pathname, '/authorize');
  assert.deepEqual(Object.fromEntries(url.searchParams), {
    response_type: 'code',
    client_id: 'stella-console',
    redirect_uri: 'https://stella.example/console/callback',
    code_challenge: 'challenge',
    code_challenge_method: 'S256',
    state: 'state-1',
  });
  const again = new URL(authorizeUrl(BUILT_IN, 'https://stella.example', 'challenge', 'state-2', 'acme'));
  assert.equal(again.searchParams.get('tenant'), 'acme');
  assert.deepEqual(Object.fromEntries(tokenRequestBody(BUILT_IN, 'https://stella.example', 'c0de', 'v3rifier')), {
    grant_type: 'authorization_code',
    code: 'c0de',
    redirect_uri: 'https://stella.example/console/callback',
    client_id: 'stella-console',
    code_verifier: 'v3rifier',
  });
});

test('an external provider: its endpoint with its own query kept, its client id and scope, no tenant parameter', () => {
  const external = {
    authorizationEndpoint: 'https://idp.example/oauth2/auth?realm=ops',
    clientId: 'ops-console',
    scope: 'openid stella',
    external: true,
  };
  const url = new URL(authorizeUrl(external, 'https://stella.example', 'challenge', 'state-3', 'acme'));
  assert.equal(`${url.origin}${url.pathname}`, 'https://idp.example/oauth2/auth');
  assert.deepEqual(Object.fromEntries(url.searchParams), {
    realm: 'ops',
    response_type: 'code',
    client_id: 'ops-console',
    redirect_uri: 'https://stella.example/console/callback',
    code_challenge: 'challenge',
    code_challenge_method: 'S256',
    state: 'state-3',
    scope: 'openid stella',
  });
  assert.equal(tokenRequestBody(external, 'https://stella.example', 'c', 'v').get('client_id'), 'ops-console');
});

test('claims: name, role, a single tenant, scopes and expiry; several tenants name none', () => {
  const token = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.signature`;
  const claims = readClaims(
    token({ sub: 'user:ada', name: 'ada', role: 'operator', tid: 'acme', scope: 'a:read b:write', exp: 10 }),
  );
  assert.deepEqual(
    { ...claims, scopes: [...claims.scopes] },
    {
      subject: 'user:ada',
      name: 'ada',
      role: 'operator',
      tenant: 'acme',
      scopes: ['a:read', 'b:write'],
      expiresAt: 10_000,
    },
  );
  assert.equal(readClaims(token({ sub: 'user:bo', tid: ['a', 'b'] })).tenant, undefined);
  assert.equal(readClaims(token({ sub: 'user:bo' })).name, 'bo');
  assert.throws(() => readClaims('not-a-jwt'));
});
