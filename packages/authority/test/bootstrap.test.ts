// First-start bootstrap: the default tenant and clients exist once, their secrets reach only a 0600
// credentials file and the database holds hashes; config clients follow the config file.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { StellaError } from '@stella/core';
import { migrate, SCOPES } from '@stella/platform';
import { scratchDir, type TestDb, testBackend, testDb } from '@stella/testkit';
import { bootstrapAuthority, type CredentialsFile, findClient } from '../src/clients.ts';
import { authorityMigrations } from '../src/module.ts';
import { hashSecret, verifySecret } from '../src/secrets.ts';

describe(`authority bootstrap on ${testBackend()}`, () => {
  let t: TestDb;
  let home: string;
  let credentials: CredentialsFile;

  before(async () => {
    t = await testDb();
    await migrate(t.db, [{ module: 'authority', migrations: authorityMigrations }]);
    home = join(scratchDir('stella-authority-'), 'home');
  });
  after(() => t.close());

  test('first start writes credentials.json with mode 0600 and both clients, whatever the umask', async () => {
    // A permissive umask must not widen the file: the mode is set explicitly, not inherited.
    const previous = process.umask(0o000);
    let result: Awaited<ReturnType<typeof bootstrapAuthority>>;
    try {
      result = await bootstrapAuthority(t.db, { home, configClients: [], issuer: 'http://127.0.0.1:8440' });
    } finally {
      process.umask(previous);
    }
    assert.equal(result.created, true);
    assert.equal(result.credentialsFile, join(home, 'credentials.json'));
    assert.equal(statSync(result.credentialsFile).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(home), ['credentials.json'], 'no temporary file is left behind');

    credentials = JSON.parse(readFileSync(result.credentialsFile, 'utf8')) as CredentialsFile;
    assert.equal(credentials.issuer, 'http://127.0.0.1:8440');
    assert.deepEqual(Object.keys(credentials.clients).sort(), ['stella-admin', 'stella-aoc-verify']);
    const admin = credentials.clients['stella-admin']!;
    const verifier = credentials.clients['stella-aoc-verify']!;
    assert.equal(admin.clientId, 'stella-admin');
    assert.match(admin.clientSecret, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
    assert.notEqual(admin.clientSecret, verifier.clientSecret);
    assert.deepEqual(admin.scopes, [...SCOPES]);
    assert.deepEqual(admin.tenants, ['default']);
    assert.deepEqual(verifier.scopes, ['aoc:verify', 'advisory:read', 'vex:read']);
    assert.deepEqual(verifier.tenants, ['default']);

    const tenants = await t.db.query<{ id: string }>('select id from tenants');
    assert.deepEqual(tenants.rows, [{ id: 'default' }]);
  });

  test('secrets are stored only as scrypt hashes', async () => {
    const rows = await t.db.query<{ client_id: string; secret_hash: string; source: string }>(
      'select client_id, secret_hash, source from authority_clients order by client_id',
    );
    assert.equal(rows.rows.length, 2);
    for (const row of rows.rows) {
      const secret = credentials.clients[row.client_id]!.clientSecret;
      assert.equal(row.source, 'bootstrap');
      assert.match(row.secret_hash, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
      assert.ok(!row.secret_hash.includes(secret));
      assert.equal(await verifySecret(secret, row.secret_hash), true);
      assert.equal(await verifySecret(`${secret}x`, row.secret_hash), false);
    }
  });

  test('a second start changes nothing: same file, same hashes, no new secrets', async () => {
    const path = join(home, 'credentials.json');
    const fileBefore = readFileSync(path, 'utf8');
    const mtimeBefore = statSync(path).mtimeMs;
    const hashesBefore = await t.db.query('select client_id, secret_hash from authority_clients order by client_id');
    const result = await bootstrapAuthority(t.db, { home, configClients: [] });
    assert.equal(result.created, false);
    assert.equal(result.credentialsFile, undefined);
    assert.equal(readFileSync(path, 'utf8'), fileBefore);
    assert.equal(statSync(path).mtimeMs, mtimeBefore);
    const hashesAfter = await t.db.query('select client_id, secret_hash from authority_clients order by client_id');
    assert.deepEqual(hashesAfter.rows, hashesBefore.rows);
  });

  test('config clients are upserted with source config, and disabled once removed from the config', async () => {
    const secretHash = await hashSecret('ci-secret');
    const ci = { clientId: 'ci-ingest', secretHash, tenants: ['acme'], scopes: ['advisory:ingest', 'vex:ingest'] };
    const first = await bootstrapAuthority(t.db, { home, configClients: [ci] });
    assert.deepEqual(first.configClients, ['ci-ingest']);
    let stored = await findClient(t.db, 'ci-ingest');
    assert.deepEqual(
      { source: stored?.source, tenants: stored?.tenants, scopes: stored?.scopes, disabled: stored?.disabled },
      { source: 'config', tenants: ['acme'], scopes: ['advisory:ingest', 'vex:ingest'], disabled: false },
    );
    const tenants = await t.db.query<{ id: string }>('select id from tenants order by id');
    assert.deepEqual(
      tenants.rows.map((r) => r.id),
      ['acme', 'default'],
      'tenants named by config clients exist',
    );

    await bootstrapAuthority(t.db, { home, configClients: [{ ...ci, scopes: ['advisory:ingest'] }] });
    stored = await findClient(t.db, 'ci-ingest');
    assert.deepEqual(stored?.scopes, ['advisory:ingest'], 'a changed config entry updates the client');

    const removed = await bootstrapAuthority(t.db, { home, configClients: [] });
    assert.deepEqual(removed.disabledClients, ['ci-ingest']);
    assert.equal((await findClient(t.db, 'ci-ingest'))?.disabled, true);
  });

  test('config clients that could never work stop start-up with ERR_CONFIG', async () => {
    const secretHash = await hashSecret('x');
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ clientId: 'a', secretHash: 'plaintext', tenants: ['default'], scopes: ['vex:read'] }, /secretHash/],
      [{ clientId: 'b', secretHash, tenants: ['Default'], scopes: ['vex:read'] }, /tenant 'Default'/],
      [{ clientId: 'c', secretHash, tenants: ['default'], scopes: ['aoc:verify'] }, /aoc:verify/],
      [{ clientId: 'd', secretHash, tenants: ['default'], scopes: ['admin'] }, /unknown scope 'admin'/],
      [{ clientId: 'stella-admin', secretHash, tenants: ['default'], scopes: ['vex:read'] }, /bootstrap client/],
    ];
    for (const [client, message] of cases) {
      await assert.rejects(
        bootstrapAuthority(t.db, { home, configClients: [client as never] }),
        (error: unknown) => {
          assert.ok(error instanceof StellaError);
          assert.equal(error.code, 'ERR_CONFIG');
          assert.match(error.message, message);
          return true;
        },
        String(client.clientId),
      );
    }
    assert.equal(await findClient(t.db, 'a'), undefined);
  });

  test('with auth.bootstrap=false nothing is created and no file is written', async () => {
    const other = await testDb();
    try {
      await migrate(other.db, [{ module: 'authority', migrations: authorityMigrations }]);
      const elsewhere = join(scratchDir('stella-authority-'), 'home');
      const result = await bootstrapAuthority(other.db, { home: elsewhere, createDefaults: false });
      assert.equal(result.created, false);
      const clients = await other.db.query('select 1 from authority_clients');
      assert.equal(clients.rows.length, 0);
      assert.throws(() => statSync(join(elsewhere, 'credentials.json')), /ENOENT/);
      const keys = await other.db.query<{ n: number }>(
        `select count(*)::int as n from authority_signing_keys where status = 'active'`,
      );
      assert.equal(keys.rows[0]?.n, 1, 'a signing key exists even without default clients');
    } finally {
      await other.close();
    }
  });
});
