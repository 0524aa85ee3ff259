// SPDX-License-Identifier: Apache-2.0
// Checks of what a bundle carries beyond its manifests: detached signatures export.json names beside
// a file (Trivy's signatures/trivy-db.sig over trivy/db.bundle), and Trivy databases, which are
// opened the way Trivy would use them: the gzip tar extracted under the same limits as the bundle,
// metadata.json at schema 2, and every page, bucket and value of trivy.db read back.
import { createVerify, type KeyLike } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { openBolt } from '../bolt/index.ts';
import { TRIVY_DB_LAYER_MEDIA_TYPE, TRIVY_SCHEMA_VERSION } from '../oci/trivy.ts';
import { type BundleReader, isObject, type TrustedKey, type VerifyCheck } from './bundle-reader.ts';
import { type BundleLimits, openBundle } from './extract.ts';
import { EXPORT_SIGNATURE_PATH, SIGNATURES_DIR, unsafePathReason } from './paths.ts';

const TRIVY_DB_MEMBERS = ['metadata.json', 'trivy.db'];

type ContentItem = Record<string, unknown> & { path: string };

function contentItems(manifest: Record<string, unknown> | undefined): ContentItem[] {
  const contents = Array.isArray(manifest?.contents) ? manifest.contents : [];
  return contents.filter((c): c is ContentItem => isObject(c) && typeof c.path === 'string');
}

/** Every detached signature export.json names verifies over its file; no other signature file is present. */
export async function checkContentSignatures(
  reader: BundleReader,
  manifest: Record<string, unknown> | undefined,
  key: TrustedKey | undefined,
  checks: VerifyCheck[],
): Promise<void> {
  const named = new Set<string>();
  for (const item of contentItems(manifest)) {
    if (item.signature === undefined) continue;
    const file = typeof item.signature === 'string' ? item.signature : String(item.signature);
    named.add(file);
    checks.push(await checkOne(reader, file, item.path, key));
  }
  for (const file of reader.files) {
    if (file.endsWith('.sig') && file.startsWith(SIGNATURES_DIR) && file !== EXPORT_SIGNATURE_PATH && !named.has(file))
      checks.push({
        file,
        check: 'named by export.json',
        ok: false,
        reason: 'no contents[] entry names this signature',
      });
  }
}

async function checkOne(
  reader: BundleReader,
  file: string,
  signed: string,
  key: TrustedKey | undefined,
): Promise<VerifyCheck> {
  const check = `detached signature over ${signed}`;
  const fail = (reason: string): VerifyCheck => ({ file, check, ok: false, reason });
  if (!file.startsWith(SIGNATURES_DIR) || unsafePathReason(file)) return fail('not a path under signatures/');
  const text = await reader.small(file);
  if (typeof text === 'string') return fail(text);
  const base64 = text.toString('ascii').trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return fail('not a single base64 line');
  if (!key) return fail('no public key to verify with');
  if (!reader.files.has(signed)) return fail(`${signed} is missing`);
  let ok = false;
  try {
    ok = await verifyFileSignature(join(reader.dir, ...signed.split('/')), key.key, Buffer.from(base64, 'base64'));
  } catch {
    ok = false;
  }
  return ok ? { file, check, ok } : fail(`signature does not verify with key ${key.keyid}`);
}

/** ECDSA/SHA-256 signature check over a file read as a stream (what openssl dgst -sha256 -verify does). */
export async function verifyFileSignature(path: string, key: KeyLike, signature: Buffer): Promise<boolean> {
  const verifier = createVerify('sha256');
  await pipeline(createReadStream(path), verifier);
  return verifier.verify(key, signature);
}

/** Each Trivy DB layer the bundle lists opens as Trivy would open it. */
export async function checkTrivyDatabases(
  reader: BundleReader,
  manifest: Record<string, unknown> | undefined,
  limits: BundleLimits | undefined,
  checks: VerifyCheck[],
): Promise<void> {
  for (const item of contentItems(manifest)) {
    if (item.contentType !== TRIVY_DB_LAYER_MEDIA_TYPE || !reader.files.has(item.path)) continue;
    const check = 'Trivy DB (metadata.json schema 2, trivy.db readable to the last value)';
    try {
      const summary = await readTrivyDb(join(reader.dir, ...item.path.split('/')), limits);
      checks.push({ file: item.path, check, ok: true, reason: summary });
    } catch (error) {
      checks.push({ file: item.path, check, ok: false, reason: (error as Error).message });
    }
  }
}

/** Extracts the db.bundle and reads it whole; throws naming the first problem, else says what it holds. */
export async function readTrivyDb(path: string, limits: BundleLimits | undefined): Promise<string> {
  const opened = await openBundle(path, { maxEntries: TRIVY_DB_MEMBERS.length, ...limits });
  try {
    const members = (await readdir(opened.dir)).sort();
    if (members.join(',') !== TRIVY_DB_MEMBERS.join(',')) {
      throw new Error(`holds ${members.join(', ') || 'nothing'}, expected exactly ${TRIVY_DB_MEMBERS.join(' and ')}`);
    }
    const metadata: unknown = JSON.parse(await readFile(join(opened.dir, 'metadata.json'), 'utf8'));
    if (!isObject(metadata) || metadata.Version !== TRIVY_SCHEMA_VERSION) {
      throw new Error(
        `metadata.json Version is ${JSON.stringify(isObject(metadata) ? metadata.Version : metadata)}, not ${TRIVY_SCHEMA_VERSION}`,
      );
    }
    // Awaited here, so the walk ends before cleanup removes the file and its rejection has a handler.
    return await walkTrivyDb(join(opened.dir, 'trivy.db'));
  } finally {
    await opened.cleanup();
  }
}

// Reading a large database takes seconds; the worker runs this in the server's process, so it pauses
// every few milliseconds for the API and the health checks.
const SLICE_MS = 20;

async function walkTrivyDb(path: string): Promise<string> {
  const db = openBolt(path);
  try {
    const top = new Set<string>();
    let values = 0;
    let sliceStart = performance.now();
    for (const entry of db.walk()) {
      if (performance.now() - sliceStart > SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
      if (entry.path.length === 0) top.add(entry.key.toString('utf8'));
      if (entry.bucket) continue;
      const where = [...entry.path, entry.key].map((p) => p.toString('utf8')).join(' / ');
      if (entry.value!.length > 0 && !isObject(parseValue(entry.value!, where))) {
        throw new Error(`trivy.db: ${where} is not a JSON object`);
      }
      values++;
    }
    for (const required of ['vulnerability', 'data-source']) {
      if (!top.has(required)) throw new Error(`trivy.db has no ${required} bucket`);
    }
    return `${top.size - 2} advisory buckets, ${values} values`;
  } finally {
    db.close();
  }
}

function parseValue(value: Buffer, where: string): unknown {
  try {
    return JSON.parse(value.toString('utf8'));
  } catch (error) {
    throw new Error(`trivy.db: ${where}: ${(error as Error).message}`);
  }
}
