// SPDX-License-Identifier: Apache-2.0
// Mirror bundle trust: the TUF metadata, DSSE envelopes and time anchor are reproducible, a real
// tuf-js Updater and openssl accept them, and every tampering fails the check that names it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { canonicalJson, pae, sha256Hex } from '@stella/core';
import { keyIdOf, type PlatformSigner } from '@stella/platform';
import { scratchDir } from '@stella/testkit';
import {
  buildTimeAnchor,
  buildTufMetadata,
  MIRROR_BUNDLE_PAYLOAD_TYPE,
  MIRROR_MANIFEST_PAYLOAD_TYPE,
  type MirrorSigner,
  mirrorJsonBytes,
  mirrorSignerFromEnv,
  mirrorSignerFromPrivateKey,
  signMirrorDsse,
  TIME_ANCHOR_PATH,
  TIME_ANCHOR_TOKEN_PATH,
  type TrustCheck,
  type TrustFiles,
  tufPublicKeyPath,
  type VerifyTrustOptions,
  verifyTrust,
} from '../src/mirror/trust/index.ts';

// A PlatformSigner is a MirrorSigner as it is: this line stops compiling if the shapes drift apart.
const _platformSignerFits = (signer: PlatformSigner): MirrorSigner => signer;
void _platformSignerFits;

function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}
const signerPem = privateKeyPem(generateKeyPairSync('ed25519').privateKey);
const signer = mirrorSignerFromPrivateKey(signerPem);
const stranger = mirrorSignerFromPrivateKey(privateKeyPem(generateKeyPairSync('ed25519').privateKey));

const EXPIRES = new Date('2030-01-01T00:00:00Z');
const ANCHOR_TIME = new Date('2026-12-01T00:00:00Z');
const NOW = new Date('2026-12-01T06:00:00Z');
const HOUR = 3_600_000;

const TARBALL = 'mirror-thin-v1.tar.gz';
const MANIFEST = 'mirror-thin-v1.manifest.json';
const BUNDLE_META = 'mirror-thin-v1.bundle.json';
const MANIFEST_DSSE = 'mirror-thin-v1.manifest.dsse.json';
const BUNDLE_DSSE = 'mirror-thin-v1.bundle.dsse.json';

const FILES: TrustFiles = {
  dsse: [
    { path: MANIFEST_DSSE, payloadType: MIRROR_MANIFEST_PAYLOAD_TYPE, ofPath: MANIFEST },
    { path: BUNDLE_DSSE, payloadType: MIRROR_BUNDLE_PAYLOAD_TYPE, ofPath: BUNDLE_META },
  ],
  anchor: TIME_ANCHOR_PATH,
};

/** Every file of a small signed thin bundle, path → bytes. */
function bundleFiles(by: MirrorSigner = signer, version = 1): Map<string, Buffer> {
  const tarball = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31) % 251));
  const manifest = mirrorJsonBytes({ version: 1, files: [{ path: 'data/raw/advisory/0000.jsonl.zst', size: 10 }] });
  const bundleMeta = mirrorJsonBytes({ bundle: 'mirror-thin-v1', created: ANCHOR_TIME.toISOString() });
  const files = new Map<string, Buffer>([
    [TARBALL, tarball],
    [MANIFEST, manifest],
    [BUNDLE_META, bundleMeta],
    [MANIFEST_DSSE, signMirrorDsse(by, MIRROR_MANIFEST_PAYLOAD_TYPE, manifest)],
    [BUNDLE_DSSE, signMirrorDsse(by, MIRROR_BUNDLE_PAYLOAD_TYPE, bundleMeta)],
  ]);
  const tuf = buildTufMetadata({
    targets: [
      { path: TARBALL, bytes: tarball },
      { path: MANIFEST, bytes: manifest },
      // A streamed file is described by length and digest instead of bytes.
      {
        path: BUNDLE_META,
        bytes: { length: bundleMeta.length, sha256: `sha256:${sha256Hex(bundleMeta)}` },
      },
    ],
    signer: by,
    expires: EXPIRES,
    version,
  });
  for (const [path, bytes] of tuf) files.set(path, bytes);
  const anchor = buildTimeAnchor(ANCHOR_TIME, by);
  files.set(TIME_ANCHOR_PATH, anchor.bytes);
  files.set(TIME_ANCHOR_TOKEN_PATH, anchor.tokenBytes);
  return files;
}

function writeBundle(files: Map<string, Buffer>): string {
  const dir = scratchDir('stella-mirror-trust-');
  for (const [path, bytes] of files) {
    const full = join(dir, ...path.split('/'));
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, bytes);
  }
  return dir;
}

async function verify(
  files: Map<string, Buffer>,
  options: Partial<VerifyTrustOptions> = {},
  trustFiles: TrustFiles = FILES,
): Promise<TrustCheck[]> {
  return verifyTrust(
    {
      trustedRoot: files.get('tuf/root.json')!,
      dir: writeBundle(files),
      now: NOW,
      stalenessBudgetMs: 24 * HOUR,
      ...options,
    },
    trustFiles,
  );
}

function failed(checks: TrustCheck[]): string[] {
  return checks
    .filter((c) => !c.ok)
    .map((c) => `${c.file} ${c.check}`)
    .sort();
}

function reasonOf(checks: TrustCheck[], file: string, check: string): string {
  const found = checks.find((c) => c.file === file && c.check === check && !c.ok);
  assert.ok(found, `expected ${file} ${check} to fail, got ${JSON.stringify(checks)}`);
  return found.reason ?? '';
}

function flipByte(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] = copy[at]! ^ 0x01;
  return copy;
}

describe('mirror trust files', () => {
  test('are byte-identical when built twice from the same inputs', () => {
    const first = bundleFiles();
    const second = bundleFiles();
    assert.deepEqual([...first.keys()].sort(), [...second.keys()].sort());
    for (const [path, bytes] of first) assert.ok(bytes.equals(second.get(path)!), `${path} differs`);
    assert.ok(first.get('tuf/root.json')!.equals(first.get('tuf/1.root.json')!));
  });

  test('use sorted keys, two-space indent and a trailing newline', () => {
    assert.equal(
      mirrorJsonBytes({ b: [1, { d: null, c: 'x' }], a: {}, 10: true, 9: [] }).toString('utf8'),
      '{\n  "10": true,\n  "9": [],\n  "a": {},\n  "b": [\n    1,\n    {\n      "c": "x",\n      "d": null\n    }\n  ]\n}\n',
    );
    const files = bundleFiles();
    for (const path of ['tuf/root.json', 'tuf/timestamp.json', MANIFEST_DSSE, TIME_ANCHOR_PATH]) {
      const text = files.get(path)!.toString('utf8');
      assert.equal(text, mirrorJsonBytes(JSON.parse(text)).toString('utf8'), path);
    }
  });

  test('publish the public key and a time anchor with exactly the schema properties', () => {
    const files = bundleFiles();
    assert.equal(files.get(tufPublicKeyPath(signer.keyid))!.toString('utf8'), signer.publicKeyPem);
    const { anchor, bytes, tokenBytes } = buildTimeAnchor(ANCHOR_TIME, signer);
    assert.deepEqual(Object.keys(JSON.parse(bytes.toString('utf8'))).sort(), [
      'anchorTime',
      'format',
      'signatureFingerprint',
      'source',
      'tokenDigest',
    ]);
    assert.equal(anchor.anchorTime, '2026-12-01T00:00:00.000Z');
    assert.equal(anchor.signatureFingerprint, signer.keyid);
    assert.equal(anchor.tokenDigest, sha256Hex(tokenBytes));
  });

  test('TUF metadata names one Ed25519 key, keyid = sha256 of its canonical JSON, for all four roles', () => {
    const root = JSON.parse(bundleFiles().get('tuf/root.json')!.toString('utf8'));
    const [keyid, ...others] = Object.keys(root.signed.keys);
    assert.equal(others.length, 0);
    assert.equal(keyid, sha256Hex(Buffer.from(canonicalJson(root.signed.keys[keyid!]))));
    for (const role of ['root', 'targets', 'snapshot', 'timestamp']) {
      assert.deepEqual(root.signed.roles[role], { keyids: [keyid], threshold: 1 });
    }
    assert.equal(root.signed.expires, '2030-01-01T00:00:00Z');
  });
});

describe('openssl, independently of our code', () => {
  test('verifies a DSSE signature over the PAE and a TUF signature over the canonical signed part', () => {
    const files = bundleFiles();
    const dir = writeBundle(files);
    const keyFile = join(dir, ...tufPublicKeyPath(signer.keyid).split('/'));
    const opensslVerify = (message: Buffer, sig: Buffer): string => {
      const work = scratchDir();
      writeFileSync(join(work, 'message.bin'), message);
      writeFileSync(join(work, 'sig.bin'), sig);
      const args = ['pkeyutl', '-verify', '-pubin', '-inkey', keyFile, '-rawin'];
      return execFileSync('openssl', [...args, '-in', join(work, 'message.bin'), '-sigfile', join(work, 'sig.bin')], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }).toString();
    };
    const envelope = JSON.parse(files.get(MANIFEST_DSSE)!.toString('utf8'));
    const message = pae(envelope.payloadType, Buffer.from(envelope.payload, 'base64'));
    const sig = Buffer.from(envelope.signatures[0].sig, 'base64');
    assert.match(opensslVerify(message, sig), /Signature Verified Successfully/);
    assert.throws(() => opensslVerify(flipByte(message, message.length - 2), sig));

    const targets = JSON.parse(files.get('tuf/targets.json')!.toString('utf8'));
    const tufSig = Buffer.from(targets.signatures[0].sig, 'hex');
    assert.match(opensslVerify(Buffer.from(canonicalJson(targets.signed)), tufSig), /Signature Verified Successfully/);
  });
});

describe('verifyTrust', () => {
  test('accepts an untouched bundle: TUF walk, every target, both envelopes, the anchor', async () => {
    const checks = await verify(bundleFiles());
    assert.deepEqual(failed(checks), []);
    const passed = checks.map((c) => `${c.file} ${c.check}`).sort();
    const expected = [
      `${BUNDLE_DSSE} dsse-payload`,
      `${BUNDLE_DSSE} dsse-signature`,
      `${MANIFEST_DSSE} dsse-payload`,
      `${MANIFEST_DSSE} dsse-signature`,
      `${BUNDLE_META} tuf-target`,
      `${MANIFEST} tuf-target`,
      `${TARBALL} tuf-target`,
      `${TIME_ANCHOR_PATH} anchor-schema`,
      `${TIME_ANCHOR_PATH} rollback`,
      `${TIME_ANCHOR_PATH} staleness`,
      `${TIME_ANCHOR_TOKEN_PATH} anchor-token`,
      'trusted root trusted-root',
      'tuf/timestamp.json rollback',
      'tuf/timestamp.json tuf-metadata',
    ];
    assert.deepEqual(passed, expected.sort());
  });

  test('TUF expiry is judged at now, so metadata past its expiry by the system clock still verifies then', async () => {
    const expired = buildTufMetadata({
      targets: [{ path: TARBALL, bytes: bundleFiles().get(TARBALL)! }],
      signer,
      expires: new Date('2026-01-01T00:00:00Z'),
    });
    const files = new Map([...bundleFiles(), ...expired]);
    const trustFiles: TrustFiles = { dsse: [] };
    const options = { trustedRoot: expired.get('tuf/root.json')!, stalenessBudgetMs: undefined };
    assert.deepEqual(
      failed(await verify(files, { ...options, now: new Date('2025-12-31T00:00:00Z') }, trustFiles)),
      [],
    );
    assert.deepEqual(failed(await verify(files, options, trustFiles)), ['tuf/timestamp.json tuf-metadata']);
  });

  test('a flipped byte in a target fails that target only', async () => {
    const files = bundleFiles();
    files.set(TARBALL, flipByte(files.get(TARBALL)!, 100));
    const checks = await verify(files);
    assert.deepEqual(failed(checks), [`${TARBALL} tuf-target`]);
    assert.match(reasonOf(checks, TARBALL, 'tuf-target'), /hash/i);
  });

  test('a truncated or missing target fails on length or absence', async () => {
    const files = bundleFiles();
    files.set(TARBALL, files.get(TARBALL)!.subarray(0, 10));
    assert.deepEqual(failed(await verify(files)), [`${TARBALL} tuf-target`]);
    files.delete(TARBALL);
    const checks = await verify(files);
    assert.deepEqual(failed(checks), [`${TARBALL} tuf-target`]);
    assert.match(reasonOf(checks, TARBALL, 'tuf-target'), /ENOENT/);
  });

  test('a DSSE payload swapped for other bytes fails the signature', async () => {
    const files = bundleFiles();
    const envelope = JSON.parse(files.get(MANIFEST_DSSE)!.toString('utf8'));
    envelope.payload = files.get(BUNDLE_META)!.toString('base64');
    files.set(MANIFEST_DSSE, mirrorJsonBytes(envelope));
    assert.deepEqual(failed(await verify(files)), [`${MANIFEST_DSSE} dsse-signature`]);
  });

  test('a genuine envelope over other bytes fails the payload check', async () => {
    const files = bundleFiles();
    files.set(MANIFEST_DSSE, signMirrorDsse(signer, MIRROR_MANIFEST_PAYLOAD_TYPE, mirrorJsonBytes({ other: 1 })));
    const checks = await verify(files);
    assert.deepEqual(failed(checks), [`${MANIFEST_DSSE} dsse-payload`]);
    assert.match(reasonOf(checks, MANIFEST_DSSE, 'dsse-payload'), new RegExp(MANIFEST.replaceAll('.', '\\.')));
  });

  test('envelopes swapped between payload types fail on payloadType', async () => {
    const files = bundleFiles();
    const manifestEnvelope = files.get(MANIFEST_DSSE)!;
    files.set(MANIFEST_DSSE, files.get(BUNDLE_DSSE)!);
    files.set(BUNDLE_DSSE, manifestEnvelope);
    const checks = await verify(files);
    assert.deepEqual(failed(checks), [`${BUNDLE_DSSE} dsse-signature`, `${MANIFEST_DSSE} dsse-signature`]);
    assert.match(reasonOf(checks, MANIFEST_DSSE, 'dsse-signature'), /payloadType/);
  });

  test('a bundle signed by another key fails TUF, both envelopes and the anchor token', async () => {
    const trustedRoot = bundleFiles(stranger).get('tuf/root.json')!;
    const checks = await verify(bundleFiles(), { trustedRoot });
    assert.deepEqual(failed(checks), [
      `${BUNDLE_DSSE} dsse-signature`,
      `${MANIFEST_DSSE} dsse-signature`,
      `${TIME_ANCHOR_TOKEN_PATH} anchor-token`,
      'tuf/timestamp.json tuf-metadata',
    ]);
  });

  test('a trusted root that does not parse is the only, failed, check', async () => {
    const checks = await verify(bundleFiles(), { trustedRoot: Buffer.from('{"signed":{}}') });
    assert.deepEqual(failed(checks), ['trusted root trusted-root']);
    assert.equal(checks.length, 1);
  });

  test('expired TUF metadata fails at the caller`s clock, whatever the system clock says', async () => {
    const checks = await verify(bundleFiles(), { now: new Date('2030-01-02T00:00:00Z'), stalenessBudgetMs: undefined });
    assert.deepEqual(failed(checks), ['tuf/timestamp.json tuf-metadata']);
    assert.match(reasonOf(checks, 'tuf/timestamp.json', 'tuf-metadata'), /Expired/);
  });

  test('a stale anchor fails and names both its age and the budget', async () => {
    const checks = await verify(bundleFiles(), { stalenessBudgetMs: HOUR });
    assert.deepEqual(failed(checks), [`${TIME_ANCHOR_PATH} staleness`]);
    const reason = reasonOf(checks, TIME_ANCHOR_PATH, 'staleness');
    assert.match(reason, /21600s old/);
    assert.match(reason, /2026-12-01T00:00:00\.000Z/);
    assert.match(reason, /budget of 3600s/);
  });

  test('an anchor from the future fails staleness', async () => {
    const checks = await verify(bundleFiles(), { now: new Date('2026-11-30T00:00:00Z') });
    assert.deepEqual(failed(checks), [`${TIME_ANCHOR_PATH} staleness`]);
  });

  test('an older timestamp version or anchor time than the accepted one is a rollback', async () => {
    const files = bundleFiles(signer, 3);
    assert.deepEqual(
      failed(await verify(files, { previous: { tufTimestampVersion: 3, anchorTime: ANCHOR_TIME.toISOString() } })),
      [],
    );
    const checks = await verify(files, { previous: { tufTimestampVersion: 4, anchorTime: '2026-12-01T01:00:00Z' } });
    assert.deepEqual(failed(checks), [`${TIME_ANCHOR_PATH} rollback`, 'tuf/timestamp.json rollback']);
    assert.match(reasonOf(checks, 'tuf/timestamp.json', 'rollback'), /version 3 is older than the accepted 4/);
  });

  test('a tampered anchor token fails its digest, a re-signed one its signature', async () => {
    const files = bundleFiles();
    files.set(TIME_ANCHOR_TOKEN_PATH, flipByte(files.get(TIME_ANCHOR_TOKEN_PATH)!, 40));
    let checks = await verify(files);
    assert.deepEqual(failed(checks), [`${TIME_ANCHOR_TOKEN_PATH} anchor-token`]);
    assert.match(reasonOf(checks, TIME_ANCHOR_TOKEN_PATH, 'anchor-token'), /tokenDigest/);

    // A token and anchor made consistently by another key: the digest matches, the signer is untrusted.
    const forged = buildTimeAnchor(new Date('2026-12-01T05:00:00Z'), stranger);
    files.set(TIME_ANCHOR_PATH, forged.bytes);
    files.set(TIME_ANCHOR_TOKEN_PATH, forged.tokenBytes);
    checks = await verify(files);
    assert.deepEqual(failed(checks), [`${TIME_ANCHOR_TOKEN_PATH} anchor-token`]);
    assert.match(reasonOf(checks, TIME_ANCHOR_TOKEN_PATH, 'anchor-token'), /no signature verifies/);
  });

  test('an anchor moved forward without its token fails the token check', async () => {
    const files = bundleFiles();
    const anchor = JSON.parse(files.get(TIME_ANCHOR_PATH)!.toString('utf8'));
    files.set(TIME_ANCHOR_PATH, mirrorJsonBytes({ ...anchor, anchorTime: '2026-12-01T05:59:00.000Z' }));
    const checks = await verify(files);
    assert.deepEqual(failed(checks), [`${TIME_ANCHOR_TOKEN_PATH} anchor-token`]);
    assert.match(reasonOf(checks, TIME_ANCHOR_TOKEN_PATH, 'anchor-token'), /anchor time/);
  });

  test('an anchor with an extra property fails the schema', async () => {
    const files = bundleFiles();
    const anchor = JSON.parse(files.get(TIME_ANCHOR_PATH)!.toString('utf8'));
    files.set(TIME_ANCHOR_PATH, mirrorJsonBytes({ ...anchor, verification: { status: 'passed' } }));
    const checks = await verify(files);
    assert.deepEqual(failed(checks), [`${TIME_ANCHOR_PATH} anchor-schema`]);
    assert.match(reasonOf(checks, TIME_ANCHOR_PATH, 'anchor-schema'), /verification/);
  });

  test('bad options are programmer errors and throw', async () => {
    const files = bundleFiles();
    await assert.rejects(verify(files, { now: new Date('nope') }), /now is not a valid date/);
    await assert.rejects(verify(files, { stalenessBudgetMs: -1 }), /stalenessBudgetMs/);
    await assert.rejects(verify(files, { previous: { tufTimestampVersion: 1, anchorTime: 'yesterday' } }), /previous/);
  });

  test('a missing TUF file fails the metadata walk and names the file', async () => {
    const files = bundleFiles();
    files.delete('tuf/snapshot.json');
    const checks = await verify(files);
    assert.deepEqual(failed(checks), ['tuf/snapshot.json tuf-metadata']);
  });
});

describe('mirror signing keys', () => {
  const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  const ecdsaPem = privateKeyPem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);

  test('MIRROR_SIGN_KEY_B64 unset or empty means no key, so the caller falls back to the key store', () => {
    assert.equal(mirrorSignerFromEnv({}), undefined);
    assert.equal(mirrorSignerFromEnv({ MIRROR_SIGN_KEY_B64: '  ' }), undefined);
  });

  test('MIRROR_SIGN_KEY_B64 with a base64 Ed25519 PEM gives the platform keyid and signs', () => {
    const fromEnv = mirrorSignerFromEnv({ MIRROR_SIGN_KEY_B64: b64(signerPem) })!;
    assert.equal(fromEnv.keyid, signer.keyid);
    assert.equal(fromEnv.keyid, keyIdOf(fromEnv.publicKeyPem));
    assert.match(fromEnv.keyid, /^sha256:[0-9a-f]{64}$/);
    assert.ok(fromEnv.signBytes(Buffer.from('x')).equals(signer.signBytes(Buffer.from('x'))));
  });

  test('bad values are refused with what to fix and without echoing key material', () => {
    const cases: [string, RegExp][] = [
      [signerPem, /holds a PEM, not its base64/],
      ['not base64 at all!', /is not base64/],
      [b64('just some text'), /does not decode to a PEM/],
      [b64(ecdsaPem), /is ec, not Ed25519/],
      [b64('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'), /not an unencrypted private key PEM/],
    ];
    for (const [value, expected] of cases) {
      assert.throws(
        () => mirrorSignerFromEnv({ MIRROR_SIGN_KEY_B64: value }),
        (err: Error) => {
          assert.match(err.message, expected);
          assert.match(err.message, /MIRROR_SIGN_KEY_B64/);
          for (const secret of [value, signerPem.split('\n')[1]!, ecdsaPem.split('\n')[1]!]) {
            assert.ok(!err.message.includes(secret), `message leaks key material: ${err.message}`);
          }
          return true;
        },
      );
    }
  });

  test('a non-Ed25519 signer is refused when signing', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ecdsa: MirrorSigner = {
      keyid: keyIdOf(publicKey),
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      signBytes: () => Buffer.alloc(64),
    };
    void privateKey;
    assert.throws(() => signMirrorDsse(ecdsa, MIRROR_MANIFEST_PAYLOAD_TYPE, Buffer.from('{}')), /not Ed25519/);
    assert.throws(() => buildTufMetadata({ targets: [], signer: ecdsa, expires: EXPIRES }), /not Ed25519/);
  });

  test('TUF target paths must stay inside the bundle', () => {
    for (const path of ['../etc/passwd', '/abs', 'a//b', 'a\\b', '']) {
      assert.throws(
        () => buildTufMetadata({ targets: [{ path, bytes: Buffer.from('x') }], signer, expires: EXPIRES }),
        /must be relative/,
      );
    }
  });
});
