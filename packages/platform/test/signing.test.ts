// The key-encryption key and the sealed signing-key store: sealing binds each key to its row, a wrong
// or missing KEK is a coded error, stored rows never hold a private key in plaintext, and keys left in
// plaintext by older versions are sealed across every tenant by one idempotent start-up step.
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pae } from '@stella/core';
import { scratchDir, type TestDb, testBackend, testDb } from '@stella/testkit';
import { migrate } from '../src/db/index.ts';
import { platformModule } from '../src/platform-module.ts';
import {
  attachKeyEncryptionKey,
  createSigningKeyStore,
  generateKeyEncryptionKeyText,
  keyEncryptionKeyFor,
  keyIdOf,
  loadKeyEncryptionKey,
  parseKeyEncryptionKey,
  sealedKekId,
  sealedSigningKeyKekIds,
  sealPlaintextSigningKeys,
} from '../src/signing/index.ts';

function expectCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (error: { code?: string; message: string }) => {
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}

describe('key-encryption key', () => {
  const kek = parseKeyEncryptionKey(generateKeyEncryptionKeyText(), 'test');

  test('seal and open round-trip; every seal uses a fresh nonce; the value names the KEK, not the key', () => {
    const a = kek.seal('-----BEGIN PRIVATE KEY-----\nabc\n', 'row-1');
    const b = kek.seal('-----BEGIN PRIVATE KEY-----\nabc\n', 'row-1');
    assert.notEqual(a, b);
    assert.equal(sealedKekId(a), kek.id);
    assert.ok(!a.includes('PRIVATE'));
    assert.equal(kek.open(a, 'row-1'), '-----BEGIN PRIVATE KEY-----\nabc\n');
    assert.equal(JSON.stringify({ kek }), `{"kek":{"kek":"${kek.id}"}}`, 'serialising never shows the key');
  });

  test('a sealed value moved to another row or altered does not open', () => {
    const sealed = kek.seal('secret', 'tenant-a/key-1');
    expectCode(() => kek.open(sealed, 'tenant-b/key-1'), 'ERR_KEYS_SEALED_INVALID', /failed authentication/);
    // One character of the authenticated body changed, always to another one: choosing the new character
    // by the last one (as this did) left the text unchanged whenever it already held it, 1 run in 64.
    const at = sealed.length - 2;
    const flipped = sealed.slice(0, at) + (sealed[at] === 'A' ? 'B' : 'A') + sealed.slice(at + 1);
    assert.notEqual(flipped, sealed);
    expectCode(() => kek.open(flipped, 'tenant-a/key-1'), 'ERR_KEYS_SEALED_INVALID');
    expectCode(() => kek.open('plaintext', 'tenant-a/key-1'), 'ERR_KEYS_SEALED_INVALID');
  });

  test('another KEK is refused by id, naming both', () => {
    const other = parseKeyEncryptionKey(generateKeyEncryptionKeyText(), 'other');
    const sealed = kek.seal('secret', 'ctx');
    expectCode(() => other.open(sealed, 'ctx'), 'ERR_KEYS_KEK_MISMATCH', new RegExp(`${kek.id}.*${other.id}`));
  });

  test('a malformed KEK names its origin and how to make one', () => {
    expectCode(() => parseKeyEncryptionKey('c2hvcnQ=', 'STELLA_KEK'), 'ERR_KEYS_KEK_INVALID', /STELLA_KEK.*32 bytes/);
    expectCode(() => parseKeyEncryptionKey('not base64!', 'x'), 'ERR_KEYS_KEK_INVALID', /openssl rand -base64 32/);
  });

  test('first start creates $STELLA_HOME/keys/kek 0600 in a 0700 directory; later starts read it', () => {
    const home = scratchDir('stella-kek-');
    const created = loadKeyEncryptionKey({ home, mayCreate: true });
    assert.equal(created.source, 'created');
    assert.equal(created.path, join(home, 'keys', 'kek'));
    assert.equal(statSync(created.path!).mode & 0o777, 0o600);
    assert.equal(statSync(join(home, 'keys')).mode & 0o777, 0o700);
    const again = loadKeyEncryptionKey({ home, mayCreate: false });
    assert.equal(again.source, 'file');
    assert.equal(again.kek.id, created.kek.id);
  });

  test('a missing KEK file is not replaced once keys are sealed; the message says what to do', () => {
    const home = scratchDir('stella-kek-');
    expectCode(() => loadKeyEncryptionKey({ home, mayCreate: false }), 'ERR_KEYS_KEK_MISSING', /restore.*STELLA_KEK/);
    assert.equal(existsSync(join(home, 'keys', 'kek')), false);
    expectCode(
      () => loadKeyEncryptionKey({ home, kekPath: join(home, 'nowhere'), mayCreate: true }),
      'ERR_KEYS_KEK_MISSING',
      /auth\.kekPath/,
    );
  });

  test('auth.kek wins over the file; auth.kekPath is read as given', () => {
    const home = scratchDir('stella-kek-');
    const text = generateKeyEncryptionKeyText();
    const fromConfig = loadKeyEncryptionKey({ home, kek: text, mayCreate: true });
    assert.equal(fromConfig.source, 'config');
    assert.equal(existsSync(join(home, 'keys')), false, 'nothing is written when the KEK is configured');
    const path = join(home, 'mounted-kek');
    writeFileSync(path, `${text}\n`);
    const fromPath = loadKeyEncryptionKey({ home, kekPath: path, mayCreate: false });
    assert.equal(fromPath.kek.id, fromConfig.kek.id);
  });
});

describe(`sealed signing keys on ${testBackend()}`, () => {
  let t: TestDb;
  const kek = parseKeyEncryptionKey(generateKeyEncryptionKeyText(), 'test');

  before(async () => {
    t = await testDb();
    await migrate(t.db, [{ module: 'platform', migrations: platformModule.migrations! }]);
    attachKeyEncryptionKey(t.db, kek);
  });
  after(() => t.close());

  const rowsOf = (tenant: string) =>
    t.db.transaction(
      (tx) =>
        tx.query<{ keyid: string; private_key_pem: string | null; private_key_sealed: string | null }>(
          'select keyid, private_key_pem, private_key_sealed from signing_keys order by keyid',
        ),
      { tenant },
    );

  test('a new key reaches the database sealed: no PEM, no PKCS#8, no JWK scalar in the row', async () => {
    const store = createSigningKeyStore(t.db);
    const ecdsa = await store.getSigner('acme', 'export-bundles', 'ecdsa-p256');
    const ed = await store.getSigner('acme', 'graphs', 'ed25519');
    const { rows } = await rowsOf('acme');
    assert.equal(rows.length, 2);
    for (const row of rows) {
      assert.equal(row.private_key_pem, null);
      assert.equal(sealedKekId(row.private_key_sealed!), kek.id);
      assert.ok(!JSON.stringify(row).includes('PRIVATE KEY'));
    }
    // The signers still sign what their public keys verify.
    const message = Buffer.from('bundle');
    assert.ok(verify('sha256', message, createPublicKey(ecdsa.publicKeyPem), ecdsa.signBytes(message)));
    // Signing the digest of a streamed file gives the very signature of the bytes (RFC 6979 nonces).
    const digest = createHash('sha256').update(message).digest();
    assert.deepEqual(ecdsa.signSha256(digest), ecdsa.signBytes(message));
    assert.throws(() => ecdsa.signSha256(message), /32 bytes/);
    assert.throws(() => ed.signSha256(digest), /Ed25519/);
    const envelope = ed.signDsse('application/vnd.test', message);
    assert.ok(
      verify(
        null,
        pae('application/vnd.test', message),
        createPublicKey(ed.publicKeyPem),
        Buffer.from(envelope.signatures[0]!.sig, 'base64'),
      ),
    );
  });

  test('a fresh store (a restart) opens the sealed key; a store with another KEK refuses it with the code', async () => {
    const before = await createSigningKeyStore(t.db).getSigner('acme', 'graphs');
    const reopened = await createSigningKeyStore(t.db, { kek }).getSigner('acme', 'graphs');
    assert.equal(reopened.keyid, before.keyid);
    const other = parseKeyEncryptionKey(generateKeyEncryptionKeyText(), 'other');
    await assert.rejects(createSigningKeyStore(t.db, { kek: other }).getSigner('acme', 'graphs'), {
      code: 'ERR_KEYS_KEK_MISMATCH',
    });
  });

  test('plaintext keys of every tenant are sealed by one idempotent step; the keys stay the same', async () => {
    const legacy = async (tenant: string, purpose: string) => {
      const pair = generateKeyPairSync('ed25519');
      const keyid = keyIdOf(pair.publicKey);
      await t.db.transaction(
        (tx) =>
          tx.query(
            `insert into signing_keys (tenant, keyid, purpose, algorithm, public_key_pem, private_key_pem)
             values ($1, $2, $3, 'ed25519', $4, $5)`,
            [
              tenant,
              keyid,
              purpose,
              pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
              pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
            ],
          ),
        { tenant },
      );
      return keyid;
    };
    const globexKey = await legacy('globex', 'old-graphs');
    const initechKey = await legacy('initech', 'old-graphs');
    assert.deepEqual(await sealedSigningKeyKekIds(t.db), [kek.id]);

    const sealed = await sealPlaintextSigningKeys(t.db, kek);
    assert.deepEqual(sealed.map((k) => `${k.tenant}/${k.keyid}`).sort(), [
      `globex/${globexKey}`,
      `initech/${initechKey}`,
    ]);
    for (const tenant of ['globex', 'initech']) {
      const [row] = (await rowsOf(tenant)).rows;
      assert.equal(row!.private_key_pem, null);
      assert.equal(sealedKekId(row!.private_key_sealed!), kek.id);
    }
    assert.deepEqual(await sealPlaintextSigningKeys(t.db, kek), [], 'a second run finds nothing to seal');
    const signer = await createSigningKeyStore(t.db).getSigner('globex', 'old-graphs');
    assert.equal(signer.keyid, globexKey, 'the sealed key is the same key');
  });

  test('the maintenance policy does not widen what a tenant transaction sees', async () => {
    const acme = (await rowsOf('acme')).rows.map((r) => r.keyid);
    assert.equal(acme.length, 2);
    const none = await t.db.query<{ n: number }>('select count(*)::int as n from signing_keys');
    assert.equal(none.rows[0]?.n, 0, 'outside a tenant or maintenance transaction no key is visible');
  });

  test('a database nobody attached a KEK to gets one for the life of its Db object', async () => {
    const other = await testDb();
    try {
      assert.equal(keyEncryptionKeyFor(other.db).id, keyEncryptionKeyFor(other.db).id);
      assert.notEqual(keyEncryptionKeyFor(other.db).id, kek.id);
    } finally {
      await other.close();
    }
  });

  test('the KEK file content is what STELLA_KEK takes', () => {
    const home = scratchDir('stella-kek-');
    const created = loadKeyEncryptionKey({ home, mayCreate: true });
    const text = readFileSync(created.path!, 'utf8');
    assert.equal(parseKeyEncryptionKey(text, 'STELLA_KEK').id, created.kek.id);
  });
});
