// SPDX-License-Identifier: Apache-2.0
// Upstream signature checks against independent tools: detached OpenPGP signatures made by GnuPG are
// verified by verifyDetachedPgp and signatures made with openpgp are verified by `gpg --verify`; DSSE
// envelopes over an OpenVEX statement; the require/record/ignore policy and declared digests.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dsseSign, IN_TOTO_PAYLOAD_TYPE } from '@stella/core';
import { advisoryFixturesUrl } from '@stella/testkit';
import * as openpgp from 'openpgp';
import { verifyDsseDocument } from '../src/signatures/dsse.ts';
import { verifyDetachedPgp } from '../src/signatures/pgp.ts';
import { checkDeclaredDigest, evaluateSignature } from '../src/signatures/policy.ts';

const FIXTURES = advisoryFixturesUrl();
const CSAF_DOC = new URL('csaf/oasis-csaf-2.0-examples/csaf/bsi-2022-0001.json', FIXTURES);
const OPENVEX_DOC = new URL('openvex/go-vex-testdata/v020-1.vex.json', FIXTURES);

describe('verifyDetachedPgp against GnuPG', () => {
  let home: string;
  let document: Uint8Array;
  let signature: string;
  let publicKey: string;
  let otherPublicKey: string;
  let keyId: string;
  let otherKeyId: string;

  function gpg(...args: string[]): string {
    return execFileSync('gpg', ['--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], {
      env: { ...process.env, GNUPGHOME: home },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }
  function keyIdOf(uid: string): string {
    const line = gpg('--with-colons', '--list-keys', uid)
      .split('\n')
      .find((l) => l.startsWith('pub:'));
    return line!.split(':')[4]!.toUpperCase();
  }

  before(() => {
    home = mkdtempSync(join(tmpdir(), 'stella-gnupg-'));
    gpg('--quick-gen-key', 'CSAF Publisher <csaf@publisher.invalid>', 'ed25519', 'sign', 'never');
    gpg('--quick-gen-key', 'Someone Else <other@publisher.invalid>', 'ed25519', 'sign', 'never');
    keyId = keyIdOf('csaf@publisher.invalid');
    otherKeyId = keyIdOf('other@publisher.invalid');
    publicKey = gpg('--armor', '--export', 'csaf@publisher.invalid');
    otherPublicKey = gpg('--armor', '--export', 'other@publisher.invalid');
    const docPath = join(home, 'bsi-2022-0001.json');
    writeFileSync(docPath, readFileSync(CSAF_DOC));
    gpg('--local-user', 'csaf@publisher.invalid', '--armor', '--detach-sign', '--output', `${docPath}.asc`, docPath);
    document = new Uint8Array(readFileSync(docPath));
    signature = readFileSync(`${docPath}.asc`, 'utf8');
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  test('a gpg signature over the exact bytes verifies and names its key', async () => {
    assert.match(signature, /^-----BEGIN PGP SIGNATURE-----/);
    const result = await verifyDetachedPgp(document, signature, [otherPublicKey, publicKey]);
    assert.deepEqual(
      { verified: result.verified, keyId: result.keyId, reason: result.reason },
      {
        verified: true,
        keyId,
        reason: undefined,
      },
    );
    assert.ok(result.fingerprint?.endsWith(keyId));
    // The .asc as bytes (how connectors hand it over) works too.
    assert.equal((await verifyDetachedPgp(document, Buffer.from(signature), [publicKey])).verified, true);
  });

  test('one flipped byte fails', async () => {
    const tampered = new Uint8Array(document);
    tampered[100] = (tampered[100] ?? 0) ^ 0x01;
    const result = await verifyDetachedPgp(tampered, signature, [publicKey]);
    assert.equal(result.verified, false);
    assert.equal(result.keyId, keyId);
    assert.ok(result.reason && result.reason.length > 0);
  });

  test('a signature by a key that is not configured fails and names the signing key id', async () => {
    const result = await verifyDetachedPgp(document, signature, [otherPublicKey]);
    assert.equal(result.verified, false);
    assert.ok(result.reason?.includes(keyId), result.reason);
    assert.ok(result.reason?.includes(otherKeyId), result.reason);
  });

  test('no configured keys, or an unreadable signature, fail with a reason', async () => {
    assert.match((await verifyDetachedPgp(document, signature, [])).reason ?? '', /no public keys/);
    assert.match((await verifyDetachedPgp(document, 'not a signature', [publicKey])).reason ?? '', /cannot be read/);
  });

  test('a signature made with openpgp verifies with gpg --verify (interoperability)', async () => {
    const { privateKey, publicKey: ourPublic } = await openpgp.generateKey({
      type: 'ecc',
      curve: 'ed25519Legacy',
      userIDs: [{ name: 'stella test', email: 'stella@test.invalid' }],
      format: 'armored',
    });
    const detached = await openpgp.sign({
      message: await openpgp.createMessage({ binary: document }),
      signingKeys: await openpgp.readPrivateKey({ armoredKey: privateKey }),
      detached: true,
      format: 'armored',
    });
    const dir = mkdtempSync(join(tmpdir(), 'stella-pgp-interop-'));
    try {
      writeFileSync(join(dir, 'key.asc'), ourPublic);
      writeFileSync(join(dir, 'doc.json'), document);
      writeFileSync(join(dir, 'doc.json.asc'), detached);
      gpg('--import', join(dir, 'key.asc'));
      const good = spawnSync('gpg', ['--batch', '--verify', join(dir, 'doc.json.asc'), join(dir, 'doc.json')], {
        env: { ...process.env, GNUPGHOME: home },
        encoding: 'utf8',
      });
      assert.equal(good.status, 0, good.stderr);
      assert.match(good.stderr, /Good signature/);
      const flipped = new Uint8Array(document);
      flipped[0] = (flipped[0] ?? 0) ^ 0x01;
      writeFileSync(join(dir, 'doc.json'), flipped);
      const bad = spawnSync('gpg', ['--batch', '--verify', join(dir, 'doc.json.asc'), join(dir, 'doc.json')], {
        env: { ...process.env, GNUPGHOME: home },
        encoding: 'utf8',
      });
      assert.notEqual(bad.status, 0);
      // And our own verifier agrees with gpg on both.
      assert.equal((await verifyDetachedPgp(document, detached, [ourPublic])).verified, true);
      assert.equal((await verifyDetachedPgp(flipped, detached, [ourPublic])).verified, false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('verifyDsseDocument', () => {
  const openvex = JSON.parse(readFileSync(OPENVEX_DOC, 'utf8')) as unknown;
  const statement = Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'pkg:oci/example', digest: { sha256: 'a'.repeat(64) } }],
      predicateType: 'https://openvex.dev/ns/v0.2.0',
      predicate: openvex,
    }),
  );
  const signer = generateKeyPairSync('ed25519');
  const stranger = generateKeyPairSync('ed25519');
  const envelope = dsseSign(IN_TOTO_PAYLOAD_TYPE, statement, [{ keyid: 'vendor-2026', privateKey: signer.privateKey }]);
  const envelopeBytes = Buffer.from(JSON.stringify(envelope));

  test('a signed OpenVEX statement verifies and its payload is the statement bytes', () => {
    const result = verifyDsseDocument(envelopeBytes, [{ keyid: 'vendor-2026', publicKey: signer.publicKey }]);
    assert.equal(result.verified, true, result.reason);
    assert.equal(result.keyId, 'vendor-2026');
    assert.equal(result.predicateType, 'https://openvex.dev/ns/v0.2.0');
    assert.deepEqual(Buffer.from(result.payload!), statement);
    const parsed = JSON.parse(Buffer.from(result.payload!).toString('utf8')) as { predicate: unknown };
    assert.deepEqual(parsed.predicate, openvex);
  });

  test('a foreign key, a swapped payload and a wrong payloadType fail, still returning the payload', () => {
    const foreign = verifyDsseDocument(envelopeBytes, [{ keyid: 'vendor-2026', publicKey: stranger.publicKey }]);
    assert.equal(foreign.verified, false);
    assert.match(foreign.reason ?? '', /vendor-2026/);
    assert.deepEqual(Buffer.from(foreign.payload!), statement);

    const swapped = Buffer.from(
      JSON.stringify({ ...envelope, payload: Buffer.from('{"_type":"x"}').toString('base64') }),
    );
    assert.equal(verifyDsseDocument(swapped, [{ keyid: 'vendor-2026', publicKey: signer.publicKey }]).verified, false);

    const other = dsseSign('text/plain', statement, [{ keyid: 'vendor-2026', privateKey: signer.privateKey }]);
    const wrongType = verifyDsseDocument(Buffer.from(JSON.stringify(other)), [
      { keyid: 'vendor-2026', publicKey: signer.publicKey },
    ]);
    assert.equal(wrongType.verified, false);
    assert.match(wrongType.reason ?? '', /payloadType text\/plain/);
  });

  test('bytes that are not an envelope fail with a reason', () => {
    const result = verifyDsseDocument(readFileSync(OPENVEX_DOC), [{ keyid: 'k', publicKey: signer.publicKey }]);
    assert.equal(result.verified, false);
    assert.match(result.reason ?? '', /not a DSSE envelope/);
    assert.equal(result.payload, undefined);
  });
});

describe('evaluateSignature', () => {
  const good = { verified: true, keyId: 'ABCD', format: 'pgp' as const };
  const bad = { verified: false, keyId: 'ABCD', reason: 'bad signature', format: 'pgp' as const };

  test('require rejects a missing or failing signature and accepts a good one', () => {
    assert.match(evaluateSignature('require', undefined, false).reject ?? '', /none was published/);
    const failing = evaluateSignature('require', bad, true);
    assert.match(failing.reject ?? '', /bad signature/);
    assert.deepEqual(failing.signature, {
      present: true,
      format: 'pgp',
      key_id: 'ABCD',
      verified: false,
      reason: 'bad signature',
    });
    assert.deepEqual(evaluateSignature('require', good, true), {
      signature: { present: true, format: 'pgp', key_id: 'ABCD', verified: true },
    });
    assert.ok(evaluateSignature('require', undefined, true, 'pgp').reject);
  });

  test('record keeps the result and never rejects', () => {
    const failing = evaluateSignature('record', bad, true);
    assert.equal(failing.reject, undefined);
    assert.equal(failing.signature.verified, false);
    assert.equal(failing.signature.reason, 'bad signature');
    assert.deepEqual(evaluateSignature('record', undefined, false), {
      signature: { present: false, verified: false, reason: 'no signature published' },
    });
  });

  test('ignore skips verification even for a good result', () => {
    assert.deepEqual(evaluateSignature('ignore', good, true), {
      signature: { present: true, format: 'pgp', verified: false, reason: 'ignored by policy' },
    });
    assert.equal(evaluateSignature('ignore', undefined, false).reject, undefined);
  });
});

describe('checkDeclaredDigest', () => {
  const bytes = readFileSync(CSAF_DOC);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const sha512 = createHash('sha512').update(bytes).digest('hex');

  test('matching sha256 and sha512 (any case) pass', () => {
    assert.deepEqual(checkDeclaredDigest(bytes, { algorithm: 'sha256', hex: sha256 }), { ok: true, actual: sha256 });
    assert.equal(checkDeclaredDigest(bytes, { algorithm: 'sha512', hex: sha512.toUpperCase() }).ok, true);
  });

  test('a mismatch or a malformed digest is a rejection naming the sidecar', () => {
    const other = createHash('sha256').update('x').digest('hex');
    const mismatch = checkDeclaredDigest(bytes, { algorithm: 'sha256', hex: other, location: 'a.json.sha256' });
    assert.equal(mismatch.ok, false);
    assert.match(
      mismatch.ok ? '' : mismatch.reason,
      new RegExp(`${sha256} but ${other} was declared \\(a\\.json\\.sha256\\)`),
    );
    const malformed = checkDeclaredDigest(bytes, { algorithm: 'sha512', hex: sha256 });
    assert.match(malformed.ok ? '' : malformed.reason, /not a sha512 hex value/);
  });
});
