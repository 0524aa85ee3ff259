// SPDX-License-Identifier: Apache-2.0
// DSSE envelopes: PAE bytes per the spec's example, sign/verify round trips for both key types,
// tampering, unknown keys, and an independent check of the ECDSA signature with openssl.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { dsseSign, dsseVerify, pae, parseDsseEnvelope } from '../src/dsse.ts';

test('PAE matches the DSSE v1 specification example', () => {
  assert.equal(
    pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString('utf8'),
    'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
  );
  // lengths are bytes, not characters
  assert.equal(pae('t', Buffer.from('é')).toString('utf8'), 'DSSEv1 1 t 2 é');
});

for (const type of ['ed25519', 'ec'] as const) {
  test(`sign and verify with ${type}; tampering and foreign keys fail`, () => {
    const pair = type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
    const other = generateKeyPairSync('ed25519');
    const payload = Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}');
    const env = dsseSign('application/vnd.in-toto+json', payload, [{ keyid: 'k1', privateKey: pair.privateKey }]);
    const ok = dsseVerify(env, [{ keyid: 'k1', publicKey: pair.publicKey }]);
    assert.equal(ok.verified, true);
    assert.deepEqual(ok.verified && ok.payload, payload);

    const tampered = { ...env, payload: Buffer.from('{"x":1}').toString('base64') };
    assert.equal(dsseVerify(tampered, [{ keyid: 'k1', publicKey: pair.publicKey }]).verified, false);
    const typeSwap = { ...env, payloadType: 'text/plain' };
    assert.equal(dsseVerify(typeSwap, [{ keyid: 'k1', publicKey: pair.publicKey }]).verified, false);
    const foreign = dsseVerify(env, [{ keyid: 'k1', publicKey: other.publicKey }]);
    assert.equal(foreign.verified, false);
    assert.match(foreign.verified ? '' : foreign.reason, /signatures by: k1/);
    assert.equal(dsseVerify(env, []).verified, false);
    // keyid is a hint: a trusted key under another name still verifies; a named wrong key does not.
    assert.equal(dsseVerify(env, [{ keyid: 'local-name', publicKey: pair.publicKey }]).verified, true);
    assert.equal(
      dsseVerify(env, [
        { keyid: 'k1', publicKey: other.publicKey },
        { keyid: 'k2', publicKey: pair.publicKey },
      ]).verified,
      false,
    );
  });
}

test('an ECDSA DSSE signature verifies with openssl over the PAE bytes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dsse-'));
  try {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const payload = Buffer.from('payload bytes');
    const env = dsseSign('text/plain', payload, [{ keyid: '', privateKey: pair.privateKey }]);
    writeFileSync(join(dir, 'pub.pem'), pair.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(dir, 'pae.bin'), pae('text/plain', payload));
    writeFileSync(join(dir, 'sig.der'), Buffer.from(env.signatures[0]!.sig, 'base64'));
    const out = execFileSync(
      'openssl',
      ['dgst', '-sha256', '-verify', join(dir, 'pub.pem'), '-signature', join(dir, 'sig.der'), join(dir, 'pae.bin')],
      { encoding: 'utf8' },
    );
    assert.match(out, /Verified OK/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('parseDsseEnvelope names the bad member', () => {
  assert.throws(() => parseDsseEnvelope([]), /JSON object/);
  assert.throws(() => parseDsseEnvelope({ payloadType: 1 }), /payloadType/);
  assert.throws(() => parseDsseEnvelope({ payloadType: 't', payload: 'eA==', signatures: [] }), /non-empty/);
  assert.throws(
    () => parseDsseEnvelope({ payloadType: 't', payload: 'eA==', signatures: [{}] }),
    /signatures\[0\]\.sig/,
  );
  const env = parseDsseEnvelope({ payloadType: 't', payload: 'eA==', signatures: [{ sig: 'AA==' }] });
  assert.equal(env.signatures[0]!.keyid, '');
});
