// SPDX-License-Identifier: Apache-2.0
// Shared by the bundle tests: a throwaway ECDSA P-256 signer, a small json:raw bundle built the
// way the Export Center lays it out, and helpers to write it as a directory or an archive.
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import { canonicalJson, dsseSign, sha256Digest, sha256Hex } from '@stella/core';
import { scratchDir } from '@stella/testkit';
import {
  type BundleCodec,
  type BundleFile,
  type BundleSigner,
  checksumsFile,
  IN_TOTO_STATEMENT_TYPE,
  publicKeyId,
  signBundleManifests,
  writeBundle,
} from '../../src/bundle/index.ts';

export const MTIME = new Date('2025-01-01T00:00:00Z');

export interface TestSigner extends BundleSigner {
  privateKey: KeyObject;
}

export function testSigner(): TestSigner {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyid = publicKeyId(publicKey);
  return {
    keyid,
    privateKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    signDsse: (payloadType, payload) => dsseSign(payloadType, payload, [{ keyid, privateKey }]),
    signBytes: (data) => sign('sha256', data, privateKey),
    // node:crypto signs messages only; noble signs a digest (prehash off), as the platform signer does.
    signSha256: (digest) => {
      const scalar = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
      return Buffer.from(p256.sign(digest, scalar, { format: 'der', prehash: false }));
    },
  };
}

const ADVISORIES = [
  { id: 'GHSA-aaaa-bbbb-cccc', summary: 'prototype pollution in lodash' },
  { id: 'CVE-2024-0001', summary: 'heap overflow' },
];
const VEX = [{ vulnerability: 'CVE-2024-0001', status: 'not_affected' }];

function jsonl(records: unknown[]): Buffer {
  return Buffer.from(records.map((r) => `${canonicalJson(r)}\n`).join(''), 'utf8');
}

/** Every file of a signed json:raw bundle, in byte order of path. */
export function bundleFiles(signer: BundleSigner): BundleFile[] {
  const data = [
    { path: 'data/raw/advisories.jsonl', bytes: jsonl(ADVISORIES), records: ADVISORIES.length },
    { path: 'data/raw/vex.jsonl', bytes: jsonl(VEX), records: VEX.length },
  ];
  const manifest = {
    schema: 'https://stellaops.io/export-center/manifest/v1alpha2',
    version: '1.1.0',
    exportId: 'exp-test-0001',
    profile: { kind: 'json', variant: 'raw', name: 'nightly-raw', revision: 1 },
    tenant: 'acme',
    selectors: { sources: ['ghsa'] },
    generatedAt: MTIME.toISOString(),
    contents: data.map((d) => ({
      path: d.path,
      digest: sha256Digest(d.bytes),
      bytes: d.bytes.length,
      records: d.records,
      contentType: 'application/x-ndjson',
    })),
    compression: { codec: 'zstd', level: 3 },
  };
  const exportJson = Buffer.from(`${canonicalJson(manifest)}\n`, 'utf8');
  const subjects = [...data.map((d) => ({ name: d.path, bytes: d.bytes })), { name: 'export.json', bytes: exportJson }];
  const provenance = {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: subjects.map((s) => ({ name: s.name, digest: { sha256: sha256Hex(s.bytes) } })),
    predicateType: 'https://stellaops.io/export-center/provenance/v1',
    predicate: { tenant: 'acme', materials: [] },
  };
  const provenanceJson = Buffer.from(`${canonicalJson(provenance)}\n`, 'utf8');
  const checksummed = [
    ...data.map((d) => ({ path: d.path, bytes: d.bytes as Uint8Array })),
    { path: 'export.json', bytes: exportJson },
    { path: 'provenance.json', bytes: provenanceJson },
  ];
  const checksums = checksumsFile(checksummed.map((f) => ({ path: f.path, digest: sha256Digest(f.bytes) })));
  return [
    { path: 'checksums.txt', bytes: checksums },
    ...checksummed,
    ...signBundleManifests(exportJson, provenanceJson, signer),
  ];
}

export function writeDir(files: BundleFile[], dir = scratchDir('stella-bundle-dir-')): string {
  for (const file of files) {
    const path = join(dir, ...file.path.split('/'));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.bytes);
  }
  return dir;
}

export async function writeArchive(files: BundleFile[], codec: BundleCodec = 'zstd'): Promise<string> {
  const path = join(scratchDir('stella-bundle-file-'), `bundle${codec === 'none' ? '.tar' : `.${codec}`}`);
  await writeBundle(
    files.map((f) => ({ path: f.path, size: f.bytes.byteLength, source: f.bytes })),
    { mtime: MTIME, compression: { codec } },
    createWriteStream(path),
  );
  return path;
}
