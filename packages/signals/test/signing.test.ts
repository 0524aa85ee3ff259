// The platform signing key store (packages/platform/src/signing), tested here on both backends.
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { dsseVerify } from '@stella/core';
import { createSigningKeyStore, keyIdOf, migrate, platformModule } from '@stella/platform';
import { type TestDb, testBackend, testDb } from '@stella/testkit';

describe(`platform signing keys on ${testBackend()}`, () => {
  let t: TestDb;
  before(async () => {
    t = await testDb();
    await migrate(t.db, [{ module: 'platform', migrations: platformModule.migrations! }]);
  });
  after(() => t.close());

  test('a key is created once per (tenant, purpose, algorithm) and reused, also by a second store', async () => {
    const store = createSigningKeyStore(t.db);
    const [a, b] = await Promise.all([store.getSigner('acme', 'graphs'), store.getSigner('acme', 'graphs')]);
    assert.equal(a.keyid, b.keyid);
    const fresh = await createSigningKeyStore(t.db).getSigner('acme', 'graphs');
    assert.equal(fresh.keyid, a.keyid);
    assert.equal(a.keyid, keyIdOf(a.publicKeyPem));
    const other = await store.getSigner('acme', 'export', 'ecdsa-p256');
    assert.notEqual(other.keyid, a.keyid);
    assert.equal(other.algorithm, 'ecdsa-p256');
  });

  test('DSSE and blob signatures verify with the listed public keys; tenants see only their own keys', async () => {
    const store = createSigningKeyStore(t.db);
    const ed = await store.getSigner('acme', 'graphs');
    const envelope = ed.signDsse('text/plain', Buffer.from('hello'));
    const keys = await store.listPublicKeys('acme');
    assert.deepEqual(keys.map((k) => k.purpose).sort(), ['export', 'graphs']);
    assert.equal(
      dsseVerify(
        envelope,
        keys.map((k) => ({ keyid: k.keyid, publicKey: k.publicKeyPem })),
      ).verified,
      true,
    );
    const ec = await store.getSigner('acme', 'export', 'ecdsa-p256');
    const sig = ec.signBytes(Buffer.from('blob'));
    assert.equal(verify('sha256', Buffer.from('blob'), createPublicKey(ec.publicKeyPem), sig), true);
    assert.deepEqual(await store.listPublicKeys('globex'), []);
    const visible = await t.db.transaction((tx) => tx.query('select keyid from signing_keys'), { tenant: 'globex' });
    assert.equal(visible.rowCount, 0, 'row-level security hides other tenants’ keys');
  });

  test('no private key material in what a signer or the key list exposes', async () => {
    const store = createSigningKeyStore(t.db);
    const signer = await store.getSigner('acme', 'graphs');
    for (const text of [
      JSON.stringify(signer),
      inspect(signer, { depth: 5 }),
      JSON.stringify(await store.listPublicKeys('acme')),
    ]) {
      assert.doesNotMatch(text, /PRIVATE KEY/);
    }
    await assert.rejects(store.getSigner('Not A Tenant', 'x'), /invalid tenant/);
    await assert.rejects(store.getSigner('acme', 'Bad Purpose'), /invalid key purpose/);
    await assert.rejects(store.getSigner('acme', 'x', 'rsa' as never), /unsupported signing algorithm/);
  });
});
