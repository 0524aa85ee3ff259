// SPDX-License-Identifier: Apache-2.0
// What `stella export verify` (and the worker's own smoke before publishing) checks beyond the manifests:
// a detached signature export.json names beside its file, and a Trivy DB layer opened as Trivy would
// open it. Each bad case is built for real (gzip tars, bbolt files, ECDSA signatures) and must fail
// naming the problem; the good case must pass, so neither check can pass by doing nothing.
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { sha256Digest } from '@stella/core';
import { scratchDir } from '@stella/testkit';
import { boltBucket, writeBolt } from '../src/bolt/index.ts';
import { BundleReader, listFiles, type VerifyCheck } from '../src/bundle/bundle-reader.ts';
import { detachedSignature, publicKeyId, writeBundle } from '../src/bundle/index.ts';
import { checkContentSignatures, checkTrivyDatabases } from '../src/bundle/verify-contents.ts';
import { TRIVY_DB_LAYER_MEDIA_TYPE } from '../src/oci/trivy.ts';
import { testSigner } from './bundle-fixtures/kit.ts';

const signer = testSigner();
const key = { key: createPublicKey(signer.publicKeyPem), keyid: publicKeyId(signer.publicKeyPem) };
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const METADATA = { Version: 2, NextUpdate: '2025-01-02T00:00:00Z', UpdatedAt: '2025-01-01T00:00:00Z' };

/** A small Trivy-shaped tree: one npm advisory, its data source and vulnerability. */
function trivyTree(overrides: { vulnerability?: boolean; value?: Buffer } = {}) {
  const entries: [string, ReturnType<typeof boltBucket>][] = [
    ['data-source', boltBucket([['npm::GitHub Security Advisory npm', json({ ID: 'ghsa', Name: 'x' })]])],
    [
      'npm::GitHub Security Advisory npm',
      boltBucket([
        ['semver', boltBucket([['CVE-2022-25883', overrides.value ?? json({ PatchedVersions: ['7.5.2'] })]])],
      ]),
    ],
  ];
  if (overrides.vulnerability !== false) {
    entries.push(['vulnerability', boltBucket([['CVE-2022-25883', json({ Title: 'ReDoS' })]])]);
  }
  return boltBucket(entries);
}

interface Layer {
  metadata?: unknown;
  db?: Buffer | 'corrupt';
  tree?: ReturnType<typeof boltBucket>;
  extra?: { path: string; bytes: Buffer };
}

/** An extracted bundle holding trivy/db.bundle, its signature and an export.json naming both. */
async function bundleDir(layer: Layer = {}, sign: (bytes: Buffer) => Buffer = (b) => b): Promise<string> {
  const dir = scratchDir('stella-trivy-verify-');
  const work = scratchDir('stella-trivy-layer-');
  const dbFile = join(work, 'trivy.db');
  await writeBolt(layer.tree ?? trivyTree(), dbFile);
  if (layer.db === 'corrupt') writeFileSync(dbFile, Buffer.alloc(8192, 7));
  const metadata = json(layer.metadata ?? METADATA);
  const entries = [
    { path: 'metadata.json', size: metadata.length, source: metadata },
    { path: 'trivy.db', size: readFileSync(dbFile).length, source: dbFile },
    ...(layer.extra ? [{ path: layer.extra.path, size: layer.extra.bytes.length, source: layer.extra.bytes }] : []),
  ];
  mkdirSync(join(dir, 'trivy'));
  mkdirSync(join(dir, 'signatures'));
  const bundlePath = join(dir, 'trivy/db.bundle');
  await writeBundle(entries, { mtime: new Date(0), compression: { codec: 'gzip' } }, createWriteStream(bundlePath));
  const bytes = readFileSync(bundlePath);
  const sig = detachedSignature('signatures/trivy-db.sig', sha256Digest(sign(bytes)), signer);
  writeFileSync(join(dir, sig.path), sig.bytes);
  const manifest = {
    contents: [
      {
        path: 'trivy/db.bundle',
        digest: sha256Digest(bytes),
        bytes: bytes.length,
        contentType: TRIVY_DB_LAYER_MEDIA_TYPE,
        signature: 'signatures/trivy-db.sig',
      },
    ],
  };
  writeFileSync(join(dir, 'export.json'), json(manifest));
  return dir;
}

async function checks(dir: string): Promise<VerifyCheck[]> {
  const found: VerifyCheck[] = [];
  const reader = new BundleReader(dir, await listFiles(dir, found));
  const manifest = JSON.parse(readFileSync(join(dir, 'export.json'), 'utf8')) as Record<string, unknown>;
  await checkContentSignatures(reader, manifest, key, found);
  await checkTrivyDatabases(reader, manifest, undefined, found);
  return found;
}

const failures = (found: VerifyCheck[]) => found.filter((c) => !c.ok).map((c) => `${c.file}: ${c.reason}`);

describe('trivy:db bundle contents', () => {
  test('a good bundle: the signature verifies and the database reads to its last value', async () => {
    const found = await checks(await bundleDir());
    assert.deepEqual(failures(found), []);
    assert.deepEqual(
      found.map((c) => c.check),
      [
        'detached signature over trivy/db.bundle',
        'Trivy DB (metadata.json schema 2, trivy.db readable to the last value)',
      ],
    );
    assert.equal(found[1]!.reason, '1 advisory buckets, 3 values');
  });

  test('a signature over other bytes, and a signature export.json does not name, both fail', async () => {
    const dir = await bundleDir({}, (b) => Buffer.concat([b, Buffer.from('x')]));
    writeFileSync(join(dir, 'signatures/stray.sig'), 'AAAA\n');
    assert.deepEqual(failures(await checks(dir)), [
      `signatures/trivy-db.sig: signature does not verify with key ${key.keyid}`,
      'signatures/stray.sig: no contents[] entry names this signature',
    ]);
  });

  test('a database Trivy would refuse or misread fails, naming why', async () => {
    const cases: [Layer, RegExp][] = [
      [{ metadata: { ...METADATA, Version: 1 } }, /metadata\.json Version is 1, not 2/],
      [{ extra: { path: 'notes.txt', bytes: Buffer.from('hi') } }, /more than 2 entries/],
      [{ db: 'corrupt' }, /meta|magic|checksum|page/i],
      [{ tree: trivyTree({ vulnerability: false }) }, /trivy\.db has no vulnerability bucket/],
      [
        { tree: trivyTree({ value: Buffer.from('{"PatchedVersions":') }) },
        /npm::GitHub Security Advisory npm \/ semver \/ CVE-2022-25883: /,
      ],
    ];
    for (const [layer, reason] of cases) {
      const problems = failures(await checks(await bundleDir(layer)));
      assert.equal(problems.length, 1, JSON.stringify(problems));
      assert.match(problems[0]!, /^trivy\/db\.bundle: /);
      assert.match(problems[0]!, reason);
    }
  });
});
