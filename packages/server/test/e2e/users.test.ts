// Console users against a real server: `stella users …` over the admin API, the code flow with PKCE
// as a browser without JavaScript would walk it (form, redirect, token), the role's scopes enforced
// by the resource routes, and a disabled user stopped at the next sign-in.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { testBackend } from '@stella/testkit';
import { runCli, startTestServer, type TestServer } from '../helpers.ts';

const FORM = 'application/x-www-form-urlencoded';

describe(`console users on a real server (${testBackend()})`, () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  /** Signs in through /authorize and /token; the token response, or the sign-in page's status. */
  async function signIn(user: string, password: string) {
    const verifier = randomBytes(32).toString('base64url');
    const redirect = `${t.base}/console/callback`;
    const params = new URLSearchParams({
      response_type: 'code',
      client_id: 'stella-console',
      redirect_uri: redirect,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      state: 'e2e',
    });
    const form = await fetch(`${t.base}/authorize?${params}`);
    assert.equal(form.status, 200);
    assert.match(await form.text(), /Sign in to stella/);
    const posted = await fetch(`${t.base}/authorize`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': FORM, origin: t.base },
      body: new URLSearchParams([...params, ['username', user], ['password', password]]),
    });
    if (posted.status !== 303) return { status: posted.status };
    const code = new URL(posted.headers.get('location')!).searchParams.get('code')!;
    const token = await fetch(`${t.base}/token`, {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: 'stella-console',
        code,
        redirect_uri: redirect,
        code_verifier: verifier,
      }),
    });
    assert.equal(token.status, 200);
    return { status: 303, token: ((await token.json()) as { access_token: string }).access_token };
  }

  test('users create → sign in → the role decides; disable stops the next sign-in', async () => {
    const password = 'a long enough passphrase';
    const created = await runCli(
      t,
      ['users', 'create', 'vera', '--tenant', 'default', '--role', 'viewer', '--password-stdin'],
      `${password}\n`,
    );
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /vera: default=viewer/);
    assert.doesNotMatch(created.stdout, /password/);

    const generated = await runCli(t, [
      'users',
      'create',
      'otto',
      '--tenant',
      'default',
      '--role',
      'operator',
      '--json',
    ]);
    assert.equal(generated.code, 0, generated.stderr);
    const otto = JSON.parse(generated.stdout) as { password: string; roles: Record<string, string> };
    assert.deepEqual(otto.roles, { default: 'operator' });

    const listed = await runCli(t, ['users', 'list', '--json']);
    const items = (JSON.parse(listed.stdout) as { items: { name: string }[] }).items.map((u) => u.name);
    assert.deepEqual(items, ['otto', 'vera']);
    // The list never carries a password, generated or not.
    assert.doesNotMatch(listed.stdout, /password/);

    const unknownTenant = await runCli(t, ['users', 'grant', 'vera', '--tenant', 'nope', '--role', 'viewer']);
    assert.notEqual(unknownTenant.code, 0);
    assert.match(unknownTenant.stderr, /tenant 'nope' does not exist/);
    const badRole = await runCli(t, ['users', 'create', 'x1', '--tenant', 'default', '--role', 'root']);
    assert.notEqual(badRole.code, 0);

    const viewer = await signIn('vera', password);
    const operator = await signIn('otto', otto.password);
    const call = (token: string, method: string, path: string, body?: unknown) =>
      fetch(`${t.base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    assert.equal((await call(viewer.token!, 'GET', '/api/v1/timeline/events')).status, 200);
    const refused = await call(viewer.token!, 'POST', '/api/export/runs', { profile: 'none' });
    assert.equal(refused.status, 403);
    assert.equal(((await refused.json()) as { code: string }).code, 'ERR_AUTH_SCOPE');
    // The operator may start runs: past the scope check, the unknown profile is what is refused.
    assert.notEqual((await call(operator.token!, 'POST', '/api/export/runs', { profile: 'none' })).status, 403);
    // authority:admin stays with the admin client.
    assert.equal((await call(operator.token!, 'GET', '/api/v1/authority/users')).status, 403);

    assert.equal((await runCli(t, ['users', 'disable', 'vera'])).code, 0);
    assert.equal((await signIn('vera', password)).status, 401);
    assert.equal((await runCli(t, ['users', 'enable', 'vera'])).code, 0);
    assert.equal((await signIn('vera', password)).status, 303);
  });
});
