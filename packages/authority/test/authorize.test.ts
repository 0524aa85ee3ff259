// The console's sign-in over app.inject(): GET/POST /authorize, the authorization_code grant with
// PKCE S256 at /token, sessions, tenant choice, and every refusal we promise (RFC 6749 §4.1,
// RFC 7636). The form is driven as a browser would post it.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createTokenVerifier, migrate } from '@stella/platform';
import { scratchDir, type TestDb, testBackend, testDb } from '@stella/testkit';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { SESSION_COOKIE, SIGN_IN_FAILED } from '../src/authorize.ts';
import { bootstrapAuthority } from '../src/clients.ts';
import { authorityMigrations } from '../src/module.ts';
import { registerAuthorityRoutes } from '../src/routes.ts';
import { createTokenThrottle } from '../src/throttle.ts';
import { authenticateUser, createUser, grantTenant, ROLE_SCOPES, setPassword, setUserDisabled } from '../src/users.ts';

const ISSUER = 'http://127.0.0.1:8440';
const REDIRECT = `${ISSUER}/console/callback`;
const FORM = 'application/x-www-form-urlencoded';
const PASSWORD = 'correct horse battery staple';

describe(`console sign-in (/authorize, authorization_code + PKCE) on ${testBackend()}`, () => {
  let t: TestDb;
  let app: FastifyInstance;
  // Real time: the platform's verifier checks exp against the system clock.
  let clock = new Date();

  before(async () => {
    t = await testDb();
    await migrate(t.db, [{ module: 'authority', migrations: authorityMigrations }]);
    await bootstrapAuthority(t.db, { home: scratchDir('stella-authorize-') });
    await t.db.query(`insert into tenants (id, display_name) values ('acme', 'Acme'), ('globex', 'Globex')`);
    await createUser(t.db, { name: 'alice', password: PASSWORD, tenants: [{ tenant: 'default', role: 'viewer' }] });
    await createUser(t.db, {
      name: 'bob',
      password: PASSWORD,
      tenants: [
        { tenant: 'acme', role: 'operator' },
        { tenant: 'globex', role: 'auditor' },
      ],
    });
    await createUser(t.db, { name: 'mallory', password: PASSWORD, tenants: [{ tenant: 'default', role: 'admin' }] });
    app = Fastify();
    registerAuthorityRoutes(app, {
      db: t.db,
      issuer: () => `${ISSUER}/`,
      config: { audience: 'stella', tokenTtlSeconds: 300, clockSkewSeconds: 30, sessionTtlSeconds: 3600 },
      now: () => clock,
      throttle: createTokenThrottle({ failuresBeforeBackoff: 3, backoffMaxSeconds: 60, secretCheckConcurrency: 2 }),
    });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await t.close();
  });

  const pkce = () => {
    const verifier = randomBytes(32).toString('base64url');
    return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
  };
  const authParams = (challenge: string, extra: Record<string, string> = {}) => ({
    response_type: 'code',
    client_id: 'stella-console',
    redirect_uri: REDIRECT,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'st-123',
    ...extra,
  });
  const getAuthorize = (params: Record<string, string>, cookie?: string) =>
    app.inject({
      method: 'GET',
      url: `/authorize?${new URLSearchParams(params)}`,
      headers: cookie ? { cookie } : {},
    });
  const postAuthorize = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: '/authorize',
      headers: { 'content-type': FORM, origin: ISSUER, 'sec-fetch-site': 'same-origin', ...headers },
      payload: new URLSearchParams(fields).toString(),
    });
  const exchange = (fields: Record<string, string>) =>
    app.inject({
      method: 'POST',
      url: '/token',
      headers: { 'content-type': FORM },
      payload: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: 'stella-console',
        ...fields,
      }).toString(),
    });
  const cookieFrom = (response: LightMyRequestResponse) => {
    const header = String(response.headers['set-cookie'] ?? '');
    const match = new RegExp(`${SESSION_COOKIE}=([^;]*)`).exec(header);
    return match?.[1] ? `${SESSION_COOKIE}=${match[1]}` : undefined;
  };
  const redirectParams = (response: LightMyRequestResponse) => {
    assert.equal(response.statusCode, 303, response.body);
    const location = new URL(String(response.headers.location));
    assert.equal(`${location.origin}${location.pathname}`, REDIRECT);
    return location.searchParams;
  };
  const verifier = () =>
    createTokenVerifier({
      issuer: `${ISSUER}/`,
      audience: 'stella',
      clockSkewSeconds: 30,
      keys: { kind: 'local', jwks: async () => (await app.inject({ url: '/.well-known/jwks.json' })).json() },
    });
  const claims = (token: string) =>
    JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

  /** Signs in with a password and returns the code, the verifier and the session cookie. */
  async function signIn(user: string, extra: Record<string, string> = {}) {
    const { verifier: v, challenge } = pkce();
    const response = await postAuthorize({ ...authParams(challenge, extra), username: user, password: PASSWORD });
    return { response, verifier: v, cookie: cookieFrom(response) };
  }

  test('the form, then a code for the redirect URI, then a token with the role scopes of the tenant', async () => {
    const { challenge, verifier: v } = pkce();
    const form = await getAuthorize(authParams(challenge));
    assert.equal(form.statusCode, 200);
    assert.match(String(form.headers['content-type']), /^text\/html/);
    const csp = String(form.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /form-action 'self'/);
    assert.match(form.body, /<label for="username">Username<\/label>/);
    assert.match(form.body, /<label for="password">Password<\/label>/);
    // The style element is allowed by its hash and nothing else runs.
    const style = /<style>([\s\S]*?)<\/style>/.exec(form.body)![1]!;
    assert.ok(csp.includes(`'sha256-${createHash('sha256').update(style).digest('base64')}'`));
    assert.doesNotMatch(form.body, /<script/);

    const posted = await postAuthorize({ ...authParams(challenge), username: 'alice', password: PASSWORD });
    const params = redirectParams(posted);
    assert.equal(params.get('state'), 'st-123');
    const cookie = String(posted.headers['set-cookie']);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    assert.match(cookie, /Path=\/authorize/);

    const token = await exchange({ code: params.get('code')!, redirect_uri: REDIRECT, code_verifier: v });
    assert.equal(token.statusCode, 200, token.body);
    const body = token.json() as { access_token: string; scope: string; expires_in: number };
    const principal = await verifier().verify(body.access_token);
    assert.equal(principal.subject, 'user:alice');
    assert.deepEqual(principal.tenants, ['default']);
    assert.deepEqual([...principal.scopes].sort(), [...ROLE_SCOPES.viewer].sort());
    assert.ok(!principal.scopes.has('export:run'));
    const c = claims(body.access_token);
    assert.equal(c.name, 'alice');
    assert.equal(c.role, 'viewer');
    assert.equal(c.client_id, 'stella-console');
  });

  test('a code is spent once: a replay, a wrong verifier, another redirect URI or a late redemption fail alike', async () => {
    const invalid = (response: LightMyRequestResponse) => {
      assert.equal(response.statusCode, 400, response.body);
      assert.equal(response.json().error, 'invalid_grant');
    };
    let s = await signIn('alice');
    let code = redirectParams(s.response).get('code')!;
    assert.equal((await exchange({ code, redirect_uri: REDIRECT, code_verifier: s.verifier })).statusCode, 200);
    invalid(await exchange({ code, redirect_uri: REDIRECT, code_verifier: s.verifier }));

    // A wrong verifier spends the code: the right one cannot follow.
    s = await signIn('alice');
    code = redirectParams(s.response).get('code')!;
    invalid(await exchange({ code, redirect_uri: REDIRECT, code_verifier: pkce().verifier }));
    invalid(await exchange({ code, redirect_uri: REDIRECT, code_verifier: s.verifier }));

    s = await signIn('alice');
    code = redirectParams(s.response).get('code')!;
    invalid(await exchange({ code, redirect_uri: `${ISSUER}/console/other`, code_verifier: s.verifier }));

    s = await signIn('alice');
    code = redirectParams(s.response).get('code')!;
    const signedAt = clock;
    clock = new Date(signedAt.getTime() + 61_000);
    try {
      invalid(await exchange({ code, redirect_uri: REDIRECT, code_verifier: s.verifier }));
    } finally {
      clock = signedAt;
    }

    const malformed = await exchange({ code: 'x', redirect_uri: REDIRECT, code_verifier: 'short' });
    assert.equal(malformed.json().error, 'invalid_request');
    const otherClient = await exchange({
      code: 'x',
      redirect_uri: REDIRECT,
      code_verifier: s.verifier,
      client_id: 'stella-admin',
    });
    assert.equal(otherClient.json().error, 'invalid_client');
    const withSecret = await exchange({
      code: 'x',
      redirect_uri: REDIRECT,
      code_verifier: s.verifier,
      client_secret: 'x',
    });
    assert.equal(withSecret.json().error, 'invalid_client');
  });

  test('a live session re-authorises without the form; sign-out, a new password or disabling ends it', async () => {
    const s = await signIn('alice');
    assert.ok(s.cookie);
    const again = await getAuthorize(authParams(pkce().challenge), s.cookie);
    assert.ok(redirectParams(again).get('code'));

    const out = await app.inject({
      method: 'POST',
      url: '/authorize/sign-out',
      headers: { cookie: s.cookie, origin: ISSUER },
    });
    assert.equal(out.statusCode, 204);
    assert.match(String(out.headers['set-cookie']), /Max-Age=0/);
    const afterOut = await getAuthorize(authParams(pkce().challenge), s.cookie);
    assert.equal(afterOut.statusCode, 200);
    assert.match(afterOut.body, /Sign in to stella/);

    const s2 = await signIn('mallory');
    await setPassword(t.db, 'mallory', `${PASSWORD}!`);
    assert.equal((await getAuthorize(authParams(pkce().challenge), s2.cookie)).statusCode, 200);
    await setPassword(t.db, 'mallory', PASSWORD);

    const s3 = await signIn('mallory');
    const code = redirectParams(s3.response).get('code')!;
    await setUserDisabled(t.db, 'mallory', true);
    try {
      assert.equal((await getAuthorize(authParams(pkce().challenge), s3.cookie)).statusCode, 200);
      // The code issued before is gone with the sessions.
      const late = await exchange({ code, redirect_uri: REDIRECT, code_verifier: s3.verifier });
      assert.equal(late.json().error, 'invalid_grant');
      const refused = await postAuthorize({ ...authParams(pkce().challenge), username: 'mallory', password: PASSWORD });
      assert.equal(refused.statusCode, 401);
      assert.ok(refused.body.includes(SIGN_IN_FAILED));
    } finally {
      await setUserDisabled(t.db, 'mallory', false);
    }
  });

  test('a user with several tenants picks one; a tenant without a role is refused', async () => {
    const s = await signIn('bob');
    assert.equal(s.response.statusCode, 200);
    assert.match(s.response.body, /<legend>Tenant<\/legend>/);
    assert.match(s.response.body, /value="acme"/);
    assert.match(s.response.body, /value="globex"/);
    const { challenge, verifier: v } = pkce();
    const chosen = await postAuthorize({ ...authParams(challenge), tenant: 'globex' }, { cookie: s.cookie! });
    const code = redirectParams(chosen).get('code')!;
    const token = (await exchange({ code, redirect_uri: REDIRECT, code_verifier: v })).json() as {
      access_token: string;
    };
    const principal = await verifier().verify(token.access_token);
    assert.deepEqual(principal.tenants, ['globex']);
    assert.deepEqual([...principal.scopes].sort(), [...ROLE_SCOPES.auditor].sort());

    const notMine = await postAuthorize({ ...authParams(pkce().challenge), tenant: 'default' }, { cookie: s.cookie! });
    assert.equal(notMine.statusCode, 403);
    assert.match(notMine.body, /no role in tenant default/);
    // Without the session the tenant step asks for the password again.
    const noSession = await postAuthorize({ ...authParams(pkce().challenge), tenant: 'acme' });
    assert.equal(noSession.statusCode, 401);
    // The console may name the tenant up front (switching tenants with a live session).
    const direct = await getAuthorize(authParams(pkce().challenge, { tenant: 'acme' }), s.cookie);
    assert.ok(redirectParams(direct).get('code'));
    // A role granted later is there at the next sign-in.
    await grantTenant(t.db, 'alice', 'acme', 'operator');
    const alice = await signIn('alice');
    assert.equal(alice.response.statusCode, 200);
    assert.match(alice.response.body, /value="acme"/);
  });

  test('wrong password and unknown user give the same answer; failures back off with 429', async () => {
    const { challenge } = pkce();
    const wrong = await postAuthorize({ ...authParams(challenge), username: 'alice', password: 'not the password' });
    const unknown = await postAuthorize({ ...authParams(challenge), username: 'nobody', password: 'not the password' });
    assert.equal(wrong.statusCode, 401);
    assert.equal(unknown.statusCode, 401);
    const message = (r: LightMyRequestResponse) => /<p class="alert" role="alert">([^<]*)<\/p>/.exec(r.body)?.[1];
    assert.equal(message(wrong), SIGN_IN_FAILED);
    assert.equal(message(unknown), SIGN_IN_FAILED);
    assert.equal(wrong.headers['set-cookie'], undefined);

    let last: LightMyRequestResponse | undefined;
    for (let n = 0; n < 5 && last?.statusCode !== 429; n++) {
      last = await postAuthorize({ ...authParams(challenge), username: 'carol', password: 'guess guess guess' });
    }
    assert.equal(last!.statusCode, 429);
    assert.ok(Number(last!.headers['retry-after']) >= 1);
    assert.match(last!.body, /Too many failed sign-ins/);
  });

  test('hostile values are escaped, never markup', async () => {
    const state = '"><script>alert(1)</script>';
    const form = await getAuthorize({ ...authParams(pkce().challenge), state });
    assert.equal(form.statusCode, 200);
    assert.doesNotMatch(form.body, /<script>/);
    assert.ok(form.body.includes('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;'));
    const failed = await postAuthorize({
      ...authParams(pkce().challenge),
      username: '<img src=x onerror=alert(1)>',
      password: 'x',
    });
    assert.equal(failed.statusCode, 401);
    assert.doesNotMatch(failed.body, /<img/);
  });

  test('bad requests: shown on our page before the redirect URI is trusted, sent back to it after', async () => {
    const { challenge } = pkce();
    for (const bad of [
      { client_id: 'stella-admin' } as Record<string, string>,
      { redirect_uri: 'https://evil.example/console/callback' },
      { redirect_uri: `${REDIRECT}?next=https://evil.example` },
      { redirect_uri: `${ISSUER}/console/elsewhere` },
      { redirect_uri: 'not a url' },
    ]) {
      const response = await getAuthorize(authParams(challenge, bad));
      assert.equal(response.statusCode >= 400 && response.statusCode < 500, true, JSON.stringify(bad));
      assert.equal(response.headers.location, undefined, JSON.stringify(bad));
      assert.match(response.body, /cannot go on/);
    }
    for (const [bad, error] of [
      [{ code_challenge_method: 'plain' }, 'invalid_request'],
      [{ code_challenge: 'short' }, 'invalid_request'],
      [{ state: '' }, 'invalid_request'],
      [{ response_type: 'token' }, 'unsupported_response_type'],
    ] as const) {
      const params = redirectParams(await getAuthorize(authParams(challenge, bad)));
      assert.equal(params.get('error'), error, JSON.stringify(bad));
      assert.equal(params.get('code'), null);
    }
  });

  test('a sign-in posted from another site, or not as a form, is refused', async () => {
    const { challenge } = pkce();
    const fields = { ...authParams(challenge), username: 'alice', password: PASSWORD };
    const crossSite = await postAuthorize(fields, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
    assert.equal(crossSite.statusCode, 403);
    assert.equal(crossSite.headers['set-cookie'], undefined);
    const json = await app.inject({
      method: 'POST',
      url: '/authorize',
      headers: { 'content-type': 'application/json', origin: ISSUER },
      payload: JSON.stringify(fields),
    });
    assert.equal(json.statusCode, 400);
    const repeated = await app.inject({
      method: 'POST',
      url: '/authorize',
      headers: { 'content-type': FORM, origin: ISSUER },
      payload: `${new URLSearchParams(fields)}&username=bob`,
    });
    assert.equal(repeated.statusCode, 400);
    const out = await app.inject({
      method: 'POST',
      url: '/authorize/sign-out',
      headers: { origin: 'https://evil.example' },
    });
    assert.equal(out.statusCode, 403);
  });

  test('the discovery document names the authorization endpoint, the code grant and S256', async () => {
    const doc = (await app.inject({ url: '/.well-known/openid-configuration' })).json() as Record<string, unknown>;
    assert.equal(doc.authorization_endpoint, `${ISSUER}/authorize`);
    assert.deepEqual(doc.code_challenge_methods_supported, ['S256']);
    assert.ok((doc.grant_types_supported as string[]).includes('authorization_code'));
  });
});

describe(`console users on ${testBackend()}`, () => {
  let t: TestDb;
  before(async () => {
    t = await testDb();
    await migrate(t.db, [{ module: 'authority', migrations: authorityMigrations }]);
    await bootstrapAuthority(t.db, { home: scratchDir('stella-users-') });
  });
  after(() => t.close());

  const codeOf = async (work: Promise<unknown>) => {
    try {
      await work;
    } catch (error) {
      return (error as { code?: string }).code;
    }
    return 'no error';
  };

  test('names, passwords, tenants and roles are checked; a generated password is returned once and works', async () => {
    const tenants = [{ tenant: 'default', role: 'viewer' }];
    assert.equal(await codeOf(createUser(t.db, { name: 'Bad Name', password: PASSWORD, tenants })), 'ERR_VALIDATION');
    assert.equal(await codeOf(createUser(t.db, { name: 'ok', password: 'short', tenants })), 'ERR_VALIDATION');
    assert.equal(await codeOf(createUser(t.db, { name: 'ok', password: PASSWORD, tenants: [] })), 'ERR_VALIDATION');
    assert.equal(
      await codeOf(createUser(t.db, { name: 'ok', password: PASSWORD, tenants: [{ tenant: 'nope', role: 'viewer' }] })),
      'ERR_NOT_FOUND',
    );
    assert.equal(
      await codeOf(
        createUser(t.db, { name: 'ok', password: PASSWORD, tenants: [{ tenant: 'default', role: 'root' }] }),
      ),
      'ERR_VALIDATION',
    );
    const created = await createUser(t.db, { name: 'dave', tenants });
    assert.equal(typeof created.password, 'string');
    assert.deepEqual(created.roles, { default: 'viewer' });
    assert.equal(await codeOf(createUser(t.db, { name: 'dave', password: PASSWORD, tenants })), 'ERR_CONFLICT');
    // Nothing half-written by the refused attempts.
    const { rows } = await t.db.query<{ name: string }>('select name from authority_users order by name');
    assert.deepEqual(
      rows.map((r) => r.name),
      ['dave'],
    );
    assert.deepEqual(await authenticateUser(t.db, 'dave', created.password!, {}), {
      name: 'dave',
      disabled: false,
      roles: { default: 'viewer' },
    });
    assert.equal(await authenticateUser(t.db, 'dave', 'wrong wrong wrong', {}), undefined);
    assert.equal(await codeOf(grantTenant(t.db, 'nobody', 'default', 'viewer')), 'ERR_NOT_FOUND');
    assert.equal(await codeOf(setUserDisabled(t.db, 'nobody', true)), 'ERR_NOT_FOUND');
  });
});
