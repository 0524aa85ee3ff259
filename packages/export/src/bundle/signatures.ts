// SPDX-License-Identifier: Apache-2.0
// The bundle's integrity files: checksums.txt (sha256sum format, so `sha256sum -c` works on an
// extracted bundle) and the four signatures/* files, which sign the exact bytes of export.json and
// provenance.json both ways: DSSE envelopes and a cosign-style detached signature.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { canonicalJson, type DsseEnvelope, IN_TOTO_PAYLOAD_TYPE, parseSha256, sha256Hex } from '@stella/core';
import {
  comparePaths,
  EXPORT_DSSE_PATH,
  EXPORT_SIGNATURE_PATH,
  isChecksummed,
  PROVENANCE_DSSE_PATH,
  PUBLIC_KEY_PATH,
  unsafePathReason,
} from './paths.ts';

export const EXPORT_MANIFEST_PAYLOAD_TYPE = 'application/vnd.stellaops.export.manifest+json';
export const PROVENANCE_PAYLOAD_TYPE = IN_TOTO_PAYLOAD_TYPE;
export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

/** What signing a bundle needs from a key store: the platform's PlatformSigner fits. */
export interface BundleSigner {
  keyid: string;
  publicKeyPem: string;
  signDsse(payloadType: string, payload: Uint8Array): DsseEnvelope;
  /** DER ECDSA P-256 over SHA-256 of the data, as cosign sign-blob writes it. */
  signBytes(data: Uint8Array): Buffer;
  /** The same signature from the data's SHA-256 digest, for a file hashed as a stream. */
  signSha256(digest: Uint8Array): Buffer;
}

export interface BundleFile {
  path: string;
  bytes: Uint8Array;
}

/** `sha256:<hex of the SPKI DER>`, the platform's key id for a public key. */
export function publicKeyId(publicKey: KeyObject | string): string {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  return `sha256:${sha256Hex(key.export({ type: 'spki', format: 'der' }))}`;
}

/** checksums.txt: `<hex>  <path>` lines in byte order of path; the file and signatures/* are not listed. */
export function checksumsFile(files: readonly { path: string; digest: string }[]): Uint8Array {
  const sorted = [...files].sort((a, b) => comparePaths(a.path, b.path));
  const lines = sorted.map((file, i) => {
    const reason = unsafePathReason(file.path);
    if (reason) throw new Error(`checksums.txt: ${JSON.stringify(file.path)}: ${reason}`);
    if (!isChecksummed(file.path)) throw new Error(`checksums.txt: ${file.path} is not checksummed (signs over it)`);
    if (i > 0 && sorted[i - 1]!.path === file.path) throw new Error(`checksums.txt: ${file.path} listed twice`);
    const hex = parseSha256(file.digest);
    if (!hex) throw new Error(`checksums.txt: ${file.path}: digest ${file.digest} is not sha256`);
    return `${hex}  ${file.path}\n`;
  });
  return Buffer.from(lines.join(''), 'utf8');
}

function jsonFile(path: string, value: unknown): BundleFile {
  return { path, bytes: Buffer.from(`${canonicalJson(value)}\n`, 'utf8') };
}

/**
 * A detached signature over a file of the bundle, from the digest it was staged with: one base64
 * line of a DER ECDSA P-256 signature over SHA-256, the form `cosign verify-blob --key` and
 * `openssl dgst -sha256 -verify` check (cosign decodes the base64; openssl needs it decoded first).
 */
export function detachedSignature(path: string, fileDigest: string, signer: BundleSigner): BundleFile {
  const hex = parseSha256(fileDigest);
  if (!hex) throw new Error(`${path}: digest ${fileDigest} is not sha256`);
  const sig = signer.signSha256(Buffer.from(hex, 'hex'));
  return { path, bytes: Buffer.from(`${sig.toString('base64')}\n`, 'ascii') };
}

/** The four signatures/* files, in byte order of path. */
export function signBundleManifests(
  exportJson: Uint8Array,
  provenanceJson: Uint8Array,
  signer: BundleSigner,
): BundleFile[] {
  const pem = signer.publicKeyPem.endsWith('\n') ? signer.publicKeyPem : `${signer.publicKeyPem}\n`;
  return [
    { path: PUBLIC_KEY_PATH, bytes: Buffer.from(pem, 'utf8') },
    jsonFile(EXPORT_DSSE_PATH, signer.signDsse(EXPORT_MANIFEST_PAYLOAD_TYPE, exportJson)),
    {
      path: EXPORT_SIGNATURE_PATH,
      bytes: Buffer.from(`${signer.signBytes(exportJson).toString('base64')}\n`, 'ascii'),
    },
    jsonFile(PROVENANCE_DSSE_PATH, signer.signDsse(PROVENANCE_PAYLOAD_TYPE, provenanceJson)),
  ].sort((a, b) => comparePaths(a.path, b.path));
}
