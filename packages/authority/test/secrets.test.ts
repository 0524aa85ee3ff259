// Client-secret hashing: the stored format, verification, and refusal of hashes that are malformed
// or would cost unbounded memory to check.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateSecret, hashSecret, isSecretHash, verifySecret } from '../src/secrets.ts';

describe('client secrets', () => {
  test('hashes are scrypt$N$r$p$salt$hash with a fresh salt each time', async () => {
    const a = await hashSecret('s3cret');
    const b = await hashSecret('s3cret');
    assert.match(a, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    assert.notEqual(a, b, 'salted');
    assert.equal(isSecretHash(a), true);
    assert.equal(await verifySecret('s3cret', a), true);
    assert.equal(await verifySecret('s3cret', b), true);
    assert.equal(await verifySecret('s3cret ', a), false);
    assert.equal(await verifySecret('', a), false);
  });

  test('malformed or oversized hashes verify nothing', async () => {
    const good = await hashSecret('x');
    const [, , r, p, salt, hash] = good.split('$');
    const bad = [
      'x',
      'bcrypt$2b$10$abc',
      `scrypt$1048577$${r}$${p}$${salt}$${hash}`, // not a power of two
      `scrypt$2097152$${r}$${p}$${salt}$${hash}`, // 2^21: over the memory cap
      `scrypt$32768$64$${p}$${salt}$${hash}`,
      `scrypt$32768$${r}$${p}$${salt}$`,
      `scrypt$32768$${r}$${p}$not base64!$${hash}`,
      `scrypt$032768$${r}$${p}$${salt}$${hash}`,
    ];
    for (const encoded of bad) {
      assert.equal(isSecretHash(encoded), false, encoded);
      assert.equal(await verifySecret('x', encoded), false, encoded);
    }
  });

  test('generated secrets are 32 random bytes in base64url', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const secret = generateSecret();
      assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
      seen.add(secret);
    }
    assert.equal(seen.size, 50);
  });
});
