// Signing-key lifecycle against the real verifier: one active key, rotation without a restart, and
// retired keys published exactly until every token they signed has expired.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { StellaError } from '@stella/core';
import { createTokenVerifier, migrate, type TokenVerifier } from '@stella/platform';
import { scratchDir, type TestDb, testBackend, testDb } from '@stella/testkit';
import { calculateJwkThumbprint, decodeProtectedHeader } from 'jose';
import { bootstrapAuthority, type CredentialsFile } from '../src/clients.ts';
import { ensureActiveKey, jwks, pruneExpiredKeys, rotateKeys } from '../src/keys.ts';
import { authorityMigrations } from '../src/module.ts';
import { issueToken } from '../src/tokens.ts';

const ISSUER = 'http://127.0.0.1:8440';
const TTL = 300;
const SKEW = 30;
const T0 = new Date('2026-02-01T09:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

describe(`signing keys on ${testBackend()}`, () => {
  let t: TestDb;
  let admin: { clientId: string; clientSecret: string };
  let clock = T0;
  let verifier: TokenVerifier;

  const issue = (now: Date) =>
    issueToken(t.db, { ...admin, issuer: ISSUER, audience: 'stella', ttlSeconds: TTL, now }).then(
      (r) => r.access_token,
    );
  const activeCount = async () =>
    (await t.db.query<{ n: number }>(`select count(*)::int as n from authority_signing_keys where status = 'active'`))
      .rows[0]?.n;

  before(async () => {
    t = await testDb();
    await migrate(t.db, [{ module: 'authority', migrations: authorityMigrations }]);
    const home = scratchDir('stella-keys-');
    const { credentialsFile } = await bootstrapAuthority(t.db, { home, now: T0 });
    admin = (JSON.parse(readFileSync(credentialsFile!, 'utf8')) as CredentialsFile).clients['stella-admin']!;
    verifier = createTokenVerifier({
      issuer: ISSUER,
      audience: 'stella',
      clockSkewSeconds: SKEW,
      keys: { kind: 'local', jwks: () => jwks(t.db, clock) },
      now: () => clock,
    });
  });
  after(() => t.close());

  test('there is one active key; its kid is the JWK thumbprint; the JWKS holds no private part', async () => {
    const first = await ensureActiveKey(t.db);
    const again = await ensureActiveKey(t.db);
    assert.equal(again.kid, first.kid);
    assert.equal(await activeCount(), 1);
    const set = await jwks(t.db, T0);
    assert.equal(set.keys.length, 1);
    const [key] = set.keys;
    assert.equal(key!.kid, first.kid);
    assert.equal(await calculateJwkThumbprint(key!, 'sha256'), first.kid);
    assert.equal((key as { d?: string }).d, undefined);
    const stored = await t.db.query<{ private_jwk: unknown; private_key_sealed: string }>(
      'select private_jwk, private_key_sealed from authority_signing_keys',
    );
    assert.equal(stored.rows[0]?.private_jwk, null, 'no plaintext private key in the database');
    assert.match(stored.rows[0]!.private_key_sealed, /^kek1:[0-9a-f]{16}:/, 'the private key is stored sealed');
  });

  test('after rotation old tokens verify until not_after, new tokens carry the new kid', async () => {
    clock = T0;
    const oldKid = (await ensureActiveKey(t.db)).kid;
    const oldToken = await issue(T0);
    assert.equal(decodeProtectedHeader(oldToken).kid, oldKid);
    await verifier.verify(oldToken);

    const rotatedAt = at(60);
    const rotation = await rotateKeys(t.db, { maxTokenLifetimeSeconds: TTL, skewSeconds: SKEW, now: rotatedAt });
    assert.notEqual(rotation.kid, oldKid);
    assert.deepEqual(rotation.retired, [oldKid]);
    assert.equal(await activeCount(), 1);

    const row = await t.db.query<{ status: string; retired_at: Date; not_after: Date }>(
      'select status, retired_at, not_after from authority_signing_keys where kid = $1',
      [oldKid],
    );
    assert.equal(row.rows[0]?.status, 'retired');
    assert.equal(new Date(row.rows[0]!.retired_at).toISOString(), rotatedAt.toISOString());
    assert.equal(new Date(row.rows[0]!.not_after).toISOString(), at(60 + TTL + SKEW).toISOString());

    clock = at(61);
    const published = (await jwks(t.db, clock)).keys.map((k) => k.kid);
    assert.deepEqual(published, [rotation.kid, oldKid], 'active first, then the retired key');
    const newToken = await issue(clock);
    assert.equal(decodeProtectedHeader(newToken).kid, rotation.kid);
    // The verifier cached the one-key set moments ago: the new kid must still be found without a restart.
    assert.equal((await verifier.verify(newToken)).subject, 'stella-admin');
    assert.equal((await verifier.verify(oldToken)).subject, 'stella-admin');

    clock = at(60 + TTL + SKEW - 1);
    assert.deepEqual(
      (await jwks(t.db, clock)).keys.map((k) => k.kid),
      [rotation.kid, oldKid],
    );
    clock = at(60 + TTL + SKEW);
    assert.deepEqual(
      (await jwks(t.db, clock)).keys.map((k) => k.kid),
      [rotation.kid],
      'gone from the JWKS once its tokens are all expired',
    );
  });

  test('a retired key past not_after is pruned; tokens it signed are refused', async () => {
    const setBefore = await t.db.query<{ kid: string }>(
      `select kid from authority_signing_keys where status = 'retired'`,
    );
    assert.equal(setBefore.rows.length, 1);
    const retiredKid = setBefore.rows[0]!.kid;
    assert.deepEqual(await pruneExpiredKeys(t.db, at(60 + TTL + SKEW - 1)), [], 'not before not_after');
    assert.deepEqual(await pruneExpiredKeys(t.db, at(60 + TTL + SKEW)), [retiredKid]);

    // A token from the pruned key whose exp would still pass (as if issued with a longer lifetime):
    // with the key gone, it fails on the signature, not on time.
    clock = at(60 + TTL + SKEW + 1);
    const fresh = await issue(clock);
    await verifier.verify(fresh);
    const forgedOld = await rotateThenIssue();
    clock = at(100_000);
    await assert.rejects(verifier.verify(forgedOld.token), (error: unknown) => {
      assert.ok(error instanceof StellaError);
      assert.equal(error.code, 'ERR_AUTH_INVALID_TOKEN');
      assert.match(error.message, /bad signature/);
      return true;
    });
  });

  test('rotation keeps exactly one active key and prunes expired retired keys in the same step', async () => {
    const first = await rotateKeys(t.db, { maxTokenLifetimeSeconds: TTL, skewSeconds: SKEW, now: at(1_000_000) });
    const second = await rotateKeys(t.db, { maxTokenLifetimeSeconds: TTL, skewSeconds: SKEW, now: at(1_000_001) });
    assert.deepEqual(second.pruned, [], 'the key retired a second ago is still needed');
    const third = await rotateKeys(t.db, {
      maxTokenLifetimeSeconds: TTL,
      skewSeconds: SKEW,
      now: at(1_000_001 + TTL + SKEW),
    });
    // `first` was retired at 1_000_001, so its not_after has just passed; `second` was retired only now.
    assert.ok(third.pruned.includes(first.kid), 'the key past its not_after is deleted');
    assert.ok(!third.pruned.includes(second.kid));
    assert.equal(await activeCount(), 1);
    const left = await t.db.query<{ kid: string; status: string }>(
      'select kid, status from authority_signing_keys order by status, kid',
    );
    assert.deepEqual(left.rows, [
      { kid: third.kid, status: 'active' },
      { kid: second.kid, status: 'retired' },
    ]);
    await assert.rejects(
      rotateKeys(t.db, { maxTokenLifetimeSeconds: 0, skewSeconds: SKEW, now: at(1_000_000) }),
      /maxTokenLifetimeSeconds/,
    );
  });

  test('two concurrent first starts end with one shared active key', async () => {
    const other = await testDb();
    try {
      await migrate(other.db, [{ module: 'authority', migrations: authorityMigrations }]);
      const [a, b] = await Promise.all([ensureActiveKey(other.db), ensureActiveKey(other.db)]);
      assert.equal(a.kid, b.kid);
      const n = await other.db.query<{ n: number }>('select count(*)::int as n from authority_signing_keys');
      assert.equal(n.rows[0]?.n, 1);
    } finally {
      await other.close();
    }
  });

  /** Issues a token, then rotates twice far in the future so that token's key is pruned. */
  async function rotateThenIssue(): Promise<{ token: string }> {
    const now = at(10_000);
    await rotateKeys(t.db, { maxTokenLifetimeSeconds: TTL, skewSeconds: SKEW, now });
    const token = (await issueToken(t.db, { ...admin, issuer: ISSUER, audience: 'stella', ttlSeconds: 3600 * 48, now }))
      .access_token;
    await rotateKeys(t.db, { maxTokenLifetimeSeconds: TTL, skewSeconds: SKEW, now: at(20_000) });
    await pruneExpiredKeys(t.db, at(20_000 + TTL + SKEW));
    return { token };
  }
});
