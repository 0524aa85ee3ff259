// SPDX-License-Identifier: Apache-2.0
// Offline bundle verification (spec §2.5): every file against checksums.txt, the manifest's
// contents[] and the provenance subjects; export.json and provenance.json against their DSSE
// envelopes and the detached cosign-style signature; then what the bundle carries (verify-contents.ts).
// Each check names the file it is about, so a
// failure says which file to distrust. Nothing here touches the network.
import { createPublicKey, type KeyObject, verify as verifySignature } from 'node:crypto';
import { dsseVerify, parseDsseEnvelope, parseSha256, StellaError } from '@stella/core';
import { ExportErrors } from '../errors.ts';
import { BundleReader, isObject, listFiles, parseJson, type TrustedKey, type VerifyCheck } from './bundle-reader.ts';
import { encryptionRecordOf, stillEncrypted } from './decrypt.ts';
import { type BundleLimits, openBundle } from './extract.ts';
import {
  CHECKSUMS_PATH,
  EXPORT_DSSE_PATH,
  EXPORT_MANIFEST_PATH,
  EXPORT_SIGNATURE_PATH,
  isChecksummed,
  PROVENANCE_DSSE_PATH,
  PROVENANCE_PATH,
  PUBLIC_KEY_PATH,
  unsafePathReason,
} from './paths.ts';
import {
  EXPORT_MANIFEST_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_TYPE,
  PROVENANCE_PAYLOAD_TYPE,
  publicKeyId,
} from './signatures.ts';
import { checkContentSignatures, checkTrivyDatabases } from './verify-contents.ts';

export type { VerifyCheck };

export interface VerifyReport {
  ok: boolean;
  checks: VerifyCheck[];
  exportId?: string;
  /** `sha256:<hex of the SPKI DER>` of the key the signatures were checked with. */
  keyid?: string;
  trustedKey: 'given' | 'bundled';
}

export interface VerifyBundleOptions {
  /** PEM public key to trust; without it the bundle's own signatures/export-center.pub is used. */
  publicKeyPem?: string;
  limits?: BundleLimits;
}

async function checkDigest(
  reader: BundleReader,
  file: string,
  check: string,
  expectedHex: string | undefined,
  expectedBytes?: number,
): Promise<VerifyCheck> {
  if (unsafePathReason(file)) return { file, check, ok: false, reason: `unsafe path (${unsafePathReason(file)})` };
  if (!expectedHex) return { file, check, ok: false, reason: 'digest is not sha256:<64 hex>' };
  if (!reader.files.has(file)) return { file, check, ok: false, reason: 'file is missing' };
  const actual = await reader.digest(file);
  if (actual.hex !== expectedHex)
    return { file, check, ok: false, reason: `sha256 is ${actual.hex}, expected ${expectedHex}` };
  if (expectedBytes !== undefined && actual.bytes !== expectedBytes)
    return { file, check, ok: false, reason: `${actual.bytes} bytes, expected ${expectedBytes}` };
  return { file, check, ok: true };
}

const CHECKSUM_LINE_RE = /^([0-9a-f]{64}) {2}(.+)$/;

async function checkChecksums(reader: BundleReader, checks: VerifyCheck[]): Promise<void> {
  const text = await reader.small(CHECKSUMS_PATH);
  if (typeof text === 'string') {
    checks.push({ file: CHECKSUMS_PATH, check: 'present', ok: false, reason: text });
    return;
  }
  const listed = new Set<string>();
  const lines = text.toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  let parsed = true;
  for (const [i, line] of lines.entries()) {
    const match = CHECKSUM_LINE_RE.exec(line);
    if (!match || listed.has(match[2]!)) {
      checks.push({
        file: CHECKSUMS_PATH,
        check: 'parses',
        ok: false,
        reason: `line ${i + 1} ${match ? 'lists a file twice' : 'is not "<sha256 hex>  <path>"'}`,
      });
      parsed = false;
      continue;
    }
    listed.add(match[2]!);
    checks.push(await checkDigest(reader, match[2]!, 'checksums.txt sha256', match[1]));
  }
  if (parsed) checks.push({ file: CHECKSUMS_PATH, check: 'parses', ok: true });
  for (const file of reader.files) {
    if (isChecksummed(file) && !listed.has(file))
      checks.push({ file, check: 'listed in checksums.txt', ok: false, reason: 'file is not listed in checksums.txt' });
  }
}

async function checkManifest(
  reader: BundleReader,
  checks: VerifyCheck[],
): Promise<{ bytes?: Buffer; manifest?: Record<string, unknown> }> {
  const bytes = await reader.small(EXPORT_MANIFEST_PATH);
  if (typeof bytes === 'string') {
    checks.push({ file: EXPORT_MANIFEST_PATH, check: 'parses', ok: false, reason: bytes });
    return {};
  }
  const parsed = parseJson(bytes);
  if ('error' in parsed || !isObject(parsed.value) || !Array.isArray(parsed.value.contents)) {
    const reason = 'error' in parsed ? parsed.error : 'not an export manifest (no contents[])';
    checks.push({ file: EXPORT_MANIFEST_PATH, check: 'parses', ok: false, reason });
    return { bytes };
  }
  const manifest = parsed.value;
  checks.push({ file: EXPORT_MANIFEST_PATH, check: 'parses', ok: true });
  for (const [i, item] of (manifest.contents as unknown[]).entries()) {
    if (!isObject(item) || typeof item.path !== 'string' || typeof item.digest !== 'string') {
      const reason = `contents[${i}] needs path and digest strings`;
      checks.push({ file: EXPORT_MANIFEST_PATH, check: 'contents[]', ok: false, reason });
      continue;
    }
    const hex = item.digest.startsWith('sha256:') ? parseSha256(item.digest) : undefined;
    const bytesListed = typeof item.bytes === 'number' ? item.bytes : -1;
    checks.push(await checkDigest(reader, item.path, 'export.json contents[] digest and bytes', hex, bytesListed));
  }
  return { bytes, manifest };
}

async function resolveKey(
  reader: BundleReader,
  given: string | undefined,
  checks: VerifyCheck[],
): Promise<TrustedKey | undefined> {
  const bundled = await reader.small(PUBLIC_KEY_PATH);
  let bundledKey: TrustedKey | undefined;
  if (typeof bundled !== 'string') {
    try {
      const key = createPublicKey(bundled);
      bundledKey = { key, keyid: publicKeyId(key) };
    } catch (error) {
      checks.push({
        file: PUBLIC_KEY_PATH,
        check: 'public key parses',
        ok: given !== undefined,
        reason: `not a PEM public key: ${(error as Error).message}${given ? ' (ignored: --key given)' : ''}`,
      });
    }
  }
  if (given !== undefined) {
    let key: KeyObject;
    try {
      key = createPublicKey(given);
    } catch (error) {
      throw new StellaError(
        ExportErrors.verify,
        `the given public key is not a PEM public key: ${(error as Error).message}`,
      );
    }
    const trusted = { key, keyid: publicKeyId(key) };
    if (bundledKey && bundledKey.keyid !== trusted.keyid) {
      // Informational: trust comes from the given key, but a reader should know the two differ.
      checks.push({
        file: PUBLIC_KEY_PATH,
        check: 'bundled key (not trusted: --key given)',
        ok: true,
        reason: `bundled key ${bundledKey.keyid} differs from the given key ${trusted.keyid}`,
      });
    }
    return trusted;
  }
  if (!bundledKey) {
    if (typeof bundled === 'string')
      checks.push({ file: PUBLIC_KEY_PATH, check: 'public key present', ok: false, reason: `${bundled}; pass --key` });
    return undefined;
  }
  checks.push({ file: PUBLIC_KEY_PATH, check: 'public key parses', ok: true });
  return bundledKey;
}

/** Verifies a DSSE envelope file with the key; its payload must be exactly `payloadFile`'s bytes. */
async function checkEnvelope(
  reader: BundleReader,
  envelopeFile: string,
  payloadType: string,
  payloadFile: string,
  payloadBytes: Buffer | undefined,
  key: TrustedKey | undefined,
  checks: VerifyCheck[],
): Promise<void> {
  const check = 'DSSE signature';
  const bytes = await reader.small(envelopeFile);
  if (typeof bytes === 'string') {
    checks.push({ file: envelopeFile, check, ok: false, reason: bytes });
    return;
  }
  const parsed = parseJson(bytes);
  let envelope: ReturnType<typeof parseDsseEnvelope>;
  try {
    if ('error' in parsed) throw new Error(parsed.error);
    envelope = parseDsseEnvelope(parsed.value);
  } catch (error) {
    checks.push({ file: envelopeFile, check, ok: false, reason: (error as Error).message });
    return;
  }
  if (envelope.payloadType !== payloadType) {
    const reason = `payloadType is ${envelope.payloadType}, expected ${payloadType}`;
    checks.push({ file: envelopeFile, check, ok: false, reason });
  } else if (!key) {
    checks.push({ file: envelopeFile, check, ok: false, reason: 'no public key to verify with' });
  } else {
    const result = dsseVerify(envelope, [{ keyid: key.keyid, publicKey: key.key }]);
    checks.push(
      result.verified
        ? { file: envelopeFile, check, ok: true }
        : { file: envelopeFile, check, ok: false, reason: `does not verify with key ${key.keyid}` },
    );
  }
  if (payloadBytes === undefined) return;
  const payload = Buffer.from(envelope.payload.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  checks.push(
    payload.equals(payloadBytes)
      ? { file: payloadFile, check: `same bytes as the ${envelopeFile} payload`, ok: true }
      : {
          file: payloadFile,
          check: `same bytes as the ${envelopeFile} payload`,
          ok: false,
          reason: `${payloadFile} differs from the signed payload`,
        },
  );
}

async function checkDetachedSignature(
  reader: BundleReader,
  exportBytes: Buffer | undefined,
  key: TrustedKey | undefined,
  checks: VerifyCheck[],
): Promise<void> {
  const check = 'signature over export.json';
  const text = await reader.small(EXPORT_SIGNATURE_PATH);
  if (typeof text === 'string') {
    checks.push({ file: EXPORT_SIGNATURE_PATH, check, ok: false, reason: text });
    return;
  }
  const base64 = text.toString('ascii').trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) {
    checks.push({ file: EXPORT_SIGNATURE_PATH, check, ok: false, reason: 'not a single base64 line' });
    return;
  }
  if (!key || !exportBytes) {
    const reason = key ? 'export.json is missing' : 'no public key to verify with';
    checks.push({ file: EXPORT_SIGNATURE_PATH, check, ok: false, reason });
    return;
  }
  let ok = false;
  try {
    ok = verifySignature('sha256', exportBytes, key.key, Buffer.from(base64, 'base64'));
  } catch {
    ok = false;
  }
  checks.push(
    ok
      ? { file: EXPORT_SIGNATURE_PATH, check, ok }
      : { file: EXPORT_SIGNATURE_PATH, check, ok, reason: `signature does not verify with key ${key.keyid}` },
  );
}

async function checkProvenance(
  reader: BundleReader,
  manifest: Record<string, unknown> | undefined,
  checks: VerifyCheck[],
): Promise<Buffer | undefined> {
  const bytes = await reader.small(PROVENANCE_PATH);
  if (typeof bytes === 'string') {
    checks.push({ file: PROVENANCE_PATH, check: 'parses', ok: false, reason: bytes });
    return undefined;
  }
  const parsed = parseJson(bytes);
  if (
    'error' in parsed ||
    !isObject(parsed.value) ||
    parsed.value._type !== IN_TOTO_STATEMENT_TYPE ||
    !Array.isArray(parsed.value.subject)
  ) {
    const reason = 'error' in parsed ? parsed.error : `not an in-toto Statement v1 (${IN_TOTO_STATEMENT_TYPE})`;
    checks.push({ file: PROVENANCE_PATH, check: 'parses', ok: false, reason });
    return bytes;
  }
  checks.push({ file: PROVENANCE_PATH, check: 'parses', ok: true });
  const subjects = new Set<string>();
  for (const [i, subject] of (parsed.value.subject as unknown[]).entries()) {
    const digest = isObject(subject) && isObject(subject.digest) ? subject.digest.sha256 : undefined;
    if (!isObject(subject) || typeof subject.name !== 'string' || typeof digest !== 'string') {
      const reason = `subject[${i}] needs name and digest.sha256`;
      checks.push({ file: PROVENANCE_PATH, check: 'subject[]', ok: false, reason });
      continue;
    }
    subjects.add(subject.name);
    const hex = /^[0-9a-f]{64}$/.test(digest) ? digest : undefined;
    checks.push(await checkDigest(reader, subject.name, 'provenance subject digest', hex));
  }
  const covered = [EXPORT_MANIFEST_PATH];
  if (manifest && Array.isArray(manifest.contents))
    for (const item of manifest.contents) if (isObject(item) && typeof item.path === 'string') covered.push(item.path);
  for (const file of covered) {
    if (!subjects.has(file))
      checks.push({ file, check: 'provenance subject', ok: false, reason: 'not a subject of provenance.json' });
  }
  return bytes;
}

/**
 * How many files are still encrypted, or undefined for a plaintext bundle. provenance.json lists the
 * files encrypted at export; after `stella export decrypt` the record stays (it is signed) but the
 * files match export.json again, so a file counts only while its digest is not the recorded one.
 */
async function encryptedFiles(reader: BundleReader): Promise<number | undefined> {
  const json = async (path: string) => {
    const bytes = await reader.small(path);
    const parsed = typeof bytes === 'string' ? undefined : parseJson(bytes);
    return parsed && 'value' in parsed ? parsed.value : undefined;
  };
  const record = encryptionRecordOf(await json(PROVENANCE_PATH));
  if (record?.scope !== 'files' || !Array.isArray(record.files)) return undefined;
  const manifest = await json(EXPORT_MANIFEST_PATH);
  const contents = isObject(manifest) && Array.isArray(manifest.contents) ? manifest.contents : [];
  const recorded = new Map(contents.filter(isObject).map((c) => [String(c.path), String(c.digest)]));
  const onDisk = async (path: string) =>
    reader.files.has(path) ? `sha256:${(await reader.digest(path)).hex}` : undefined;
  return (await stillEncrypted(record.files, recorded, onDisk)) ? record.files.length : undefined;
}

/** Checks an extracted bundle directory or a .tar/.tar.gz/.tar.zst file; hostile archives throw ERR_EXPORT_009. */
export async function verifyBundle(target: string, options: VerifyBundleOptions = {}): Promise<VerifyReport> {
  const opened = await openBundle(target, options.limits);
  try {
    const checks: VerifyCheck[] = [];
    const reader = new BundleReader(opened.dir, await listFiles(opened.dir, checks));
    // Signatures cover the plaintext (runbook §8.2: decrypt, then verify): say so once rather than
    // report every ciphertext file as a digest mismatch.
    const encrypted = await encryptedFiles(reader);
    if (encrypted !== undefined) {
      checks.push({
        file: PROVENANCE_PATH,
        check: 'encryption',
        ok: false,
        reason: `${encrypted} data file(s) are encrypted (profile encryption aes-gcm): decrypt first with \`stella export decrypt ${target} --identity <key.txt>\`, then verify its output`,
      });
      return { ok: false, checks, trustedKey: options.publicKeyPem === undefined ? 'bundled' : 'given' };
    }
    await checkChecksums(reader, checks);
    const { bytes: exportBytes, manifest } = await checkManifest(reader, checks);
    const key = await resolveKey(reader, options.publicKeyPem, checks);
    await checkEnvelope(
      reader,
      EXPORT_DSSE_PATH,
      EXPORT_MANIFEST_PAYLOAD_TYPE,
      EXPORT_MANIFEST_PATH,
      exportBytes,
      key,
      checks,
    );
    await checkDetachedSignature(reader, exportBytes, key, checks);
    await checkContentSignatures(reader, manifest, key, checks);
    await checkTrivyDatabases(reader, manifest, options.limits, checks);
    const provenanceBytes = await checkProvenance(reader, manifest, checks);
    await checkEnvelope(
      reader,
      PROVENANCE_DSSE_PATH,
      PROVENANCE_PAYLOAD_TYPE,
      PROVENANCE_PATH,
      provenanceBytes,
      key,
      checks,
    );
    return {
      ok: checks.every((c) => c.ok),
      checks,
      ...(typeof manifest?.exportId === 'string' ? { exportId: manifest.exportId } : {}),
      ...(key ? { keyid: key.keyid } : {}),
      trustedKey: options.publicKeyPem === undefined ? 'bundled' : 'given',
    };
  } finally {
    await opened.cleanup();
  }
}
