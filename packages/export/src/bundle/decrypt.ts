// SPDX-License-Identifier: Apache-2.0
// `stella export decrypt`: an encrypted bundle back to the plaintext bundle its signatures cover.
// A whole-bundle age file (profile mode age) is decrypted as `age -d` would; a bundle with encrypted
// data files (mode aes-gcm) has its data key unwrapped with a matching identity, each listed file
// decrypted under its AAD `{runId}:{relativePath}`, and the archive written again with export.json's
// mtime and compression, so it is byte for byte the archive the worker packed before encrypting.
// Nothing appears at the output unless every file decrypted and its digest matches export.json.
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StellaError } from '@stella/core';
import { ageDecryptFile, decryptFile, type EncryptionRecord, unwrapDataKey } from '../crypto/index.ts';
import { writeWhole } from '../crypto/output.ts';
import { ExportErrors } from '../errors.ts';
import { hashFileStreaming, isObject, listFiles, parseJson } from './bundle-reader.ts';
import { AGE_MAGIC, openBundle } from './extract.ts';
import { EXPORT_MANIFEST_PATH, PROVENANCE_PATH, unsafePathReason } from './paths.ts';
import { type BundleCodec, type BundleEntry, writeBundle } from './tar.ts';

export interface DecryptedBundle {
  mode: 'age' | 'aes-gcm';
  output: string;
  /** Data files decrypted (aes-gcm); 0 for a whole-bundle age file. */
  files: number;
  /** `sha256:` of the output file. */
  digest: string;
  bytes: number;
}

/** Whether the file starts like a binary age file (what profile mode age produces). */
export async function isAgeFile(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(AGE_MAGIC.length);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    return bytesRead === head.length && head.toString('latin1') === AGE_MAGIC;
  } finally {
    await file.close();
  }
}

/** The provenance record of a bundle whose data files are encrypted, or undefined when it has none. */
export function encryptionRecordOf(provenance: unknown): EncryptionRecord | { scope: 'bundle' } | undefined {
  if (!isObject(provenance)) return undefined;
  const predicate = provenance.predicate;
  const definition = isObject(predicate) ? predicate.buildDefinition : undefined;
  const internal = isObject(definition) ? definition.internalParameters : undefined;
  const environment = isObject(internal) ? internal.environment : undefined;
  const encryption = isObject(environment) ? environment.encryption : undefined;
  return isObject(encryption) ? (encryption as unknown as EncryptionRecord) : undefined;
}

/**
 * Whether the files an encryption record lists are still ciphertext. After decrypting, the record
 * stays in provenance.json (it is signed) but each file matches its export.json digest again.
 * `recorded` and `digestOf` speak `sha256:<hex>`; a file that is missing counts as not encrypted.
 */
export async function stillEncrypted(
  files: readonly string[],
  recorded: ReadonlyMap<string, string>,
  digestOf: (path: string) => Promise<string | undefined>,
): Promise<boolean> {
  if (files.length === 0) return false;
  for (const path of files) {
    const digest = await digestOf(path);
    if (digest === undefined || digest === recorded.get(path)) return false;
  }
  return true;
}

export async function decryptBundle(input: string, identities: string, output: string): Promise<DecryptedBundle> {
  const info = await stat(input);
  if (info.isFile() && (await isAgeFile(input))) {
    await ageDecryptFile([identities], input, output);
    return { mode: 'age', output, files: 0, ...(await digestOf(output)) };
  }
  const opened = await openBundle(input);
  const scratch = await mkdtemp(join(tmpdir(), 'stella-decrypt-'));
  try {
    const json = async (path: string) => {
      const bytes = await readFile(join(opened.dir, path)).catch(() => undefined);
      const parsed = bytes === undefined ? undefined : parseJson(bytes);
      if (!parsed || 'error' in parsed) throw refuse(`${input}: ${path} is missing or not JSON`);
      return parsed.value;
    };
    const record = encryptionRecordOf(await json(PROVENANCE_PATH));
    if (record?.scope !== 'files') {
      throw refuse(
        `${input} is not encrypted (provenance.json has no ${record ? 'file-by-file ' : ''}environment.encryption): verify it as it is`,
      );
    }
    const manifest = await json(EXPORT_MANIFEST_PATH);
    for (const path of record.files) {
      const unsafe = unsafePathReason(path);
      if (unsafe) throw refuse(`provenance lists ${JSON.stringify(path)} as encrypted: ${unsafe}`);
    }
    const expected = contentDigests(manifest);
    const onDisk = async (path: string) =>
      digestOf(join(opened.dir, ...path.split('/'))).then(
        (d) => d.digest,
        () => undefined,
      );
    if (!(await stillEncrypted(record.files, expected, onDisk))) {
      throw refuse(
        `${input} is not encrypted: its data files already match export.json (decrypted before?); verify it as it is`,
      );
    }
    const key = await unwrapDataKey(record, [identities]);
    const sources = new Map<string, string>();
    for (const [index, path] of record.files.entries()) {
      const plain = join(scratch, String(index));
      await decryptFile(key, record.runId, path, join(opened.dir, ...path.split('/')), plain);
      const { digest } = await digestOf(plain);
      if (expected.get(path) !== digest) {
        throw refuse(
          `${path} decrypts to ${digest}, not the ${expected.get(path) ?? '(unlisted)'} export.json records`,
        );
      }
      sources.set(path, plain);
    }
    const checks: { file: string; check: string; ok: boolean; reason?: string }[] = [];
    const entries: BundleEntry[] = [];
    for (const path of await listFiles(opened.dir, checks)) {
      const source = sources.get(path) ?? join(opened.dir, ...path.split('/'));
      entries.push({ path, size: (await stat(source)).size, source });
    }
    if (checks.length > 0) throw refuse(`${input}: ${checks[0]!.file} is not a regular file`);
    const settings = archiveSettings(manifest);
    await writeWhole(output, async (out) => {
      await writeBundle(entries, settings, out);
    });
    return { mode: 'aes-gcm', output, files: sources.size, ...(await digestOf(output)) };
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await opened.cleanup();
  }
}

function refuse(message: string): StellaError {
  return new StellaError(ExportErrors.decrypt, message);
}

/** export.json `contents[].digest` by path. */
function contentDigests(manifest: unknown): Map<string, string> {
  const digests = new Map<string, string>();
  const contents = isObject(manifest) ? manifest.contents : undefined;
  for (const entry of Array.isArray(contents) ? contents : []) {
    if (isObject(entry) && typeof entry.path === 'string' && typeof entry.digest === 'string') {
      digests.set(entry.path, entry.digest);
    }
  }
  return digests;
}

/** The archive settings export.json records: its generatedAt is every entry's mtime. */
function archiveSettings(manifest: unknown): { mtime: Date; compression: { codec: BundleCodec; level?: number } } {
  const record = isObject(manifest) ? manifest : {};
  const compression = isObject(record.compression) ? record.compression : {};
  const codec = compression.codec;
  const mtime = new Date(typeof record.generatedAt === 'string' ? record.generatedAt : Number.NaN);
  if ((codec !== 'zstd' && codec !== 'gzip' && codec !== 'none') || Number.isNaN(mtime.getTime())) {
    throw refuse('export.json records no usable compression codec or generatedAt');
  }
  const level = typeof compression.level === 'number' ? compression.level : undefined;
  return { mtime, compression: { codec, ...(level === undefined ? {} : { level }) } };
}

async function digestOf(path: string): Promise<{ digest: string; bytes: number }> {
  const { hex, bytes } = await hashFileStreaming(path);
  return { digest: `sha256:${hex}`, bytes };
}
