// Seed 004 §3 and §5 as an operator runs them: the read-only verifier, named by AOC_VERIFIER_USER,
// gets a new secret with `stella auth clients rotate-secret`; `stella aoc verify` keeps passing (the
// local credentials file is updated), the old secret works during the overlap and is refused after
// it, and a client from auth.clients is refused (its secret lives in the configuration).
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashSecret } from '@stella/authority';
import { testBackend } from '@stella/testkit';
import { runCliIn, startTestServer, type TestServer } from '../helpers.ts';

const VERIFIER = 'ops-verifier';

describe(`client secret rotation (${testBackend()})`, () => {
  let t: TestServer;
  const env = () => ({ STELLA_HOME: t.home, STELLA_SERVER: t.base, AOC_VERIFIER_USER: VERIFIER });
  const cli = (args: string[], extra: Record<string, string> = {}) => runCliIn({ ...env(), ...extra }, args);
  const token = (clientId: string, clientSecret: string) =>
    fetch(`${t.base}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
    });
  const credentials = () =>
    JSON.parse(readFileSync(join(t.home, 'credentials.json'), 'utf8')) as {
      clients: Record<string, { clientId: string; clientSecret: string; scopes: string[] }>;
    };

  before(async () => {
    const yaml = `auth:\n  clients:\n    - clientId: from-config\n      secretHash: "${await hashSecret('config-secret-0123456789')}"\n      tenants: [default]\n      scopes: [advisory:read]\n`;
    t = await startTestServer({ AOC_VERIFIER_USER: VERIFIER }, yaml);
  });
  after(() => t?.close());

  test('AOC_VERIFIER_USER names the verifier the bootstrap creates and `stella aoc verify` uses', async () => {
    const verifier = credentials().clients[VERIFIER];
    assert.ok(verifier, Object.keys(credentials().clients).join());
    assert.deepEqual(verifier.scopes, ['aoc:verify', 'advisory:read', 'vex:read']);
    assert.equal(credentials().clients['stella-aoc-verify'], undefined);
    const verify = await cli(['aoc', 'verify', '--since', '24h', '--json']);
    assert.equal(verify.code, 0, verify.stderr);
  });

  test('rotate-secret: the new secret works at once, the old one during the overlap and not after, verify keeps passing', async () => {
    const old = credentials().clients[VERIFIER]!.clientSecret;
    const rotate = async (overlap: string) => {
      const rotated = await cli(['auth', 'clients', 'rotate-secret', VERIFIER, '--overlap', overlap, '--json']);
      assert.equal(rotated.code, 0, rotated.stderr);
      return JSON.parse(rotated.stdout) as {
        clientSecret: string;
        previousSecretExpiresAt: string;
        credentialsFile: string;
      };
    };
    // A quarter's rotation with a day of overlap (seed 004 §5).
    const first = await rotate('24h');
    assert.notEqual(first.clientSecret, old);
    assert.equal(first.credentialsFile, join(t.home, 'credentials.json'));
    assert.equal(credentials().clients[VERIFIER]!.clientSecret, first.clientSecret);
    assert.equal(statSync(first.credentialsFile).mode & 0o777, 0o600);
    assert.ok(new Date(first.previousSecretExpiresAt).getTime() - Date.now() > 23 * 3600_000);
    assert.equal((await token(VERIFIER, first.clientSecret)).status, 200);
    assert.equal((await token(VERIFIER, old)).status, 200, 'the old secret works during the overlap');
    assert.equal((await cli(['aoc', 'verify', '--since', '24h'])).code, 0);

    // Rotated again with no overlap: the secret it replaced stops at once (its overlap is over).
    const second = await rotate('0s');
    for (const stale of [first.clientSecret, old]) {
      const refused = await token(VERIFIER, stale);
      assert.equal(refused.status, 401);
      assert.equal(((await refused.json()) as { error: string }).error, 'invalid_client');
    }
    // `stella aoc verify` with the old secret fails (exit 71, authentication); with the current one it passes.
    const withOld = await cli(['aoc', 'verify', '--since', '24h'], {
      STELLA_CLIENT_ID: VERIFIER,
      STELLA_CLIENT_SECRET: old,
    });
    assert.equal(withOld.code, 71, withOld.stderr);
    assert.equal((await cli(['aoc', 'verify', '--since', '24h'])).code, 0);
    assert.equal((await token(VERIFIER, second.clientSecret)).status, 200);
  });

  test('refusals: a config client, an unknown client, a bad overlap, a verifier token; the answer is never cached', async () => {
    const fromConfig = await cli(['auth', 'clients', 'rotate-secret', 'from-config']);
    assert.equal(fromConfig.code, 1);
    assert.match(fromConfig.stderr, /auth\.clients in the configuration/);
    const unknown = await cli(['auth', 'clients', 'rotate-secret', 'nobody']);
    assert.equal(unknown.code, 4, unknown.stderr);
    const badOverlap = await cli(['auth', 'clients', 'rotate-secret', VERIFIER, '--overlap', 'forever']);
    assert.equal(badOverlap.code, 2);
    assert.match(badOverlap.stderr, /--overlap forever/);

    const admin = await t.token('authority:admin', '');
    const response = await fetch(`${t.base}/api/v1/authority/clients/${VERIFIER}/rotate-secret`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ overlapSeconds: 0 }),
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const tooLong = await fetch(`${t.base}/api/v1/authority/clients/${VERIFIER}/rotate-secret`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ overlapSeconds: 91 * 86_400 }),
    });
    assert.equal(tooLong.status, 400);
    // A verifier token cannot rotate anything.
    const { clientSecret } = (await response.json()) as { clientSecret: string };
    const verifierToken = ((await (await token(VERIFIER, clientSecret)).json()) as { access_token: string })
      .access_token;
    const forbidden = await fetch(`${t.base}/api/v1/authority/clients/stella-admin/rotate-secret`, {
      method: 'POST',
      headers: { authorization: `Bearer ${verifierToken}`, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(forbidden.status, 403);
  });
});
