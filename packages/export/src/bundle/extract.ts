// SPDX-License-Identifier: Apache-2.0
// Opens a bundle for reading: an extracted directory as is, or a .tar/.tar.gz/.tar.zst file
// (recognised by its magic bytes) streamed into a fresh temporary directory. The archive is
// untrusted: only regular files with safe relative names are written, each exactly once, within
// entry, size and count caps, so a crafted archive can neither escape the directory nor fill the disk.

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline as pipelineCallback, type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createZstdDecompress, constants as zlibConstants } from 'node:zlib';
import { StellaError } from '@stella/core';
import { extract as tarExtract } from 'tar-stream';
import { ExportErrors } from '../errors.ts';
import { unsafePathReason } from './paths.ts';

const GiB = 1024 ** 3;

export interface BundleLimits {
  /** Most archive members, directories included (default 10 000). */
  maxEntries?: number;
  /** Largest single file (default 8 GiB). */
  maxEntryBytes?: number;
  /** Most bytes of all files together once decompressed (default 64 GiB). */
  maxTotalBytes?: number;
}

export const DEFAULT_BUNDLE_LIMITS: Required<BundleLimits> = {
  maxEntries: 10_000,
  maxEntryBytes: 8 * GiB,
  maxTotalBytes: 64 * GiB,
};

/**
 * Headers, pax records and block padding on top of the file bytes. A tar of only zero blocks or
 * giant pax records carries no file bytes, so the raw stream is capped too: 4 KiB per allowed entry
 * is several times what tar-stream writes for a name up to 1 KiB.
 */
const HEADER_ALLOWANCE_PER_ENTRY = 4096;
/** zstd's own default; a frame asking for a larger window would need that much memory to decode. */
const ZSTD_WINDOW_LOG_MAX = 27;
const CHUNK = 1 << 20;
/** The first line of a binary age file. */
export const AGE_MAGIC = 'age-encryption.org/v1\n';

export type BundleFormat = 'directory' | 'tar' | 'tar+gzip' | 'tar+zstd';

export interface OpenedBundle {
  dir: string;
  format: BundleFormat;
  /** Removes the temporary directory of an extracted archive; a no-op for a directory. */
  cleanup(): Promise<void>;
}

function refused(message: string, entry?: string, cause?: unknown): StellaError {
  return new StellaError(ExportErrors.verify, message, {
    ...(cause === undefined ? {} : { cause }),
    ...(entry === undefined ? {} : { details: { entry } }),
  });
}

/** Magic bytes, not the file name: a renamed bundle opens the same. */
async function sniff(path: string): Promise<Exclude<BundleFormat, 'directory'> | undefined> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await file.read(head, 0, 512, 0);
    if (bytesRead >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'tar+zstd';
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'tar+gzip';
    if (bytesRead >= 262 && head.toString('latin1', 257, 262) === 'ustar') return 'tar';
    if (head.toString('latin1', 0, AGE_MAGIC.length) === AGE_MAGIC) {
      throw refused(
        `${path}: an age-encrypted bundle (profile encryption mode age): decrypt it first with \`stella export decrypt ${path} --identity <key.txt>\` (or \`age -d -i <key.txt> -o <bundle>.tar.zst ${path}\`), then use the output`,
      );
    }
    return undefined;
  } finally {
    await file.close();
  }
}

/** Fails the stream once more than `limit` bytes have passed. */
class ByteCap extends Transform {
  private seen = 0;
  private readonly limit: number;
  private readonly what: string;
  constructor(limit: number, what: string) {
    super();
    this.limit = limit;
    this.what = what;
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) callback(refused(`${this.what}: decompressed archive exceeds ${this.limit} bytes`));
    else callback(null, chunk);
  }
}

function decompressorFor(format: BundleFormat): Transform | undefined {
  // 1 MiB output chunks: zlib's default 16 KiB makes decoding a large bundle several times slower.
  if (format === 'tar+gzip') return createGunzip({ chunkSize: CHUNK });
  if (format === 'tar+zstd')
    return createZstdDecompress({
      chunkSize: CHUNK,
      params: { [zlibConstants.ZSTD_d_windowLogMax]: ZSTD_WINDOW_LOG_MAX },
    });
  return undefined;
}

export async function openBundle(target: string, limits: BundleLimits = {}): Promise<OpenedBundle> {
  const caps = { ...DEFAULT_BUNDLE_LIMITS, ...limits };
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(target);
  } catch (error) {
    throw refused(`${target}: cannot be read: ${(error as Error).message}`, undefined, error);
  }
  if (info.isDirectory()) return { dir: target, format: 'directory', cleanup: async () => {} };
  const format = info.isFile() ? await sniff(target) : undefined;
  if (!format) throw refused(`${target}: not a bundle (neither a directory nor a tar, tar.gz or tar.zst file)`);

  const dir = await mkdtemp(join(tmpdir(), 'stella-bundle-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    await walkArchive(target, format, caps, async (name, entry) => {
      const dest = join(dir, ...name.split('/'));
      await mkdir(dirname(dest), { recursive: true });
      // 'wx': never replace or follow anything already there.
      await pipeline(entry, createWriteStream(dest, { flags: 'wx', mode: 0o644 }));
    });
  } catch (error) {
    await cleanup();
    if (error instanceof StellaError) throw error;
    throw refused(`${target}: cannot be extracted: ${(error as Error).message}`, undefined, error);
  }
  return { dir, format, cleanup };
}

/**
 * sha256 of the tar inside a bundle file, decompressed in one streaming pass with nothing written
 * to disk: the worker's check that the file it wrote decodes to exactly the tar it produced.
 */
export async function tarDigestOf(target: string): Promise<{ digest: string; bytes: number }> {
  const format = await sniff(target);
  if (!format) throw refused(`${target}: not a tar, tar.gz or tar.zst file`);
  const hash = createHash('sha256');
  let bytes = 0;
  const decompressor = decompressorFor(format);
  const source = createReadStream(target, { highWaterMark: CHUNK });
  for await (const chunk of (decompressor ? source.pipe(decompressor) : source) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, bytes };
}

/**
 * The bytes of the members `wanted` picks, read from a bundle file in one streaming pass under the same
 * safety rules and caps as extraction; nothing is written to disk. For small members (indexes, manifests).
 */
export async function readArchiveMembers(
  target: string,
  wanted: (name: string) => boolean,
  limits: BundleLimits = {},
): Promise<Map<string, Buffer>> {
  const format = await sniff(target);
  if (!format) throw refused(`${target}: not a tar, tar.gz or tar.zst file`);
  const found = new Map<string, Buffer>();
  await walkArchive(target, format, { ...DEFAULT_BUNDLE_LIMITS, ...limits }, async (name, entry) => {
    const chunks: Buffer[] = [];
    const keep = wanted(name);
    // A member not wanted is still read through: the tar stream moves on only past its bytes.
    for await (const chunk of entry) if (keep) chunks.push(chunk as Buffer);
    if (keep) found.set(name, Buffer.concat(chunks));
  });
  return found;
}

/** Streams an archive's regular files to `onFile`, refusing anything unsafe or over the caps. */
async function walkArchive(
  target: string,
  format: Exclude<BundleFormat, 'directory'>,
  caps: Required<BundleLimits>,
  onFile: (name: string, entry: Readable) => Promise<void>,
): Promise<void> {
  const extract = tarExtract();
  const decompressor = decompressorFor(format);
  const rawCap = new ByteCap(caps.maxTotalBytes + caps.maxEntries * HEADER_ALLOWANCE_PER_ENTRY, target);
  const stages = [
    createReadStream(target, { highWaterMark: CHUNK }),
    ...(decompressor ? [decompressor] : []),
    rawCap,
  ] as const;
  // Node's pipeline for the node streams; tar-stream's extract is a streamx writable fed by pipe().
  let chainError: Error | undefined;
  pipelineCallback([...stages], (error) => {
    if (!error) return;
    chainError = error;
    extract.destroy(error);
  });
  rawCap.pipe(extract as unknown as NodeJS.WritableStream);

  const seen = new Set<string>();
  let entries = 0;
  let total = 0;
  try {
    for await (const entry of extract) {
      const { header } = entry;
      entries++;
      if (entries > caps.maxEntries) throw refused(`${target}: more than ${caps.maxEntries} entries`, header.name);
      // `tar -C dir .` writes ./-prefixed names; they mean the same member.
      const name = header.name.replace(/^\.\//, '').replace(/\/$/, '');
      if (header.type === 'directory') {
        if (name !== '') {
          const reason = unsafePathReason(name);
          if (reason) throw refused(`${header.name}: refused (${reason})`, header.name);
        }
        entry.resume();
        continue;
      }
      if (header.type !== 'file')
        throw refused(
          `${header.name}: refused (${header.type} entries are not allowed; only regular files)`,
          header.name,
        );
      const reason = unsafePathReason(name);
      if (reason) throw refused(`${header.name}: refused (${reason})`, header.name);
      if (seen.has(name)) throw refused(`${name}: refused (appears twice in the archive)`, name);
      seen.add(name);
      if (header.size > caps.maxEntryBytes)
        throw refused(`${name}: refused (${header.size} bytes, over the ${caps.maxEntryBytes}-byte entry limit)`, name);
      total += header.size;
      if (total > caps.maxTotalBytes)
        throw refused(`${name}: refused (archive files exceed ${caps.maxTotalBytes} bytes in total)`, name);
      try {
        await onFile(name, entry as unknown as Readable);
      } catch (error) {
        if (error instanceof StellaError) throw error;
        throw refused(`${name}: cannot be extracted: ${(error as Error).message}`, name, error);
      }
    }
  } catch (error) {
    extract.destroy(error as Error);
    for (const stage of stages) stage.destroy();
    // A cap or decompressor failure surfaces in the entry being written as a bare premature close.
    throw chainError instanceof StellaError ? chainError : error;
  }
  if (chainError) throw chainError;
}
