// SPDX-License-Identifier: Apache-2.0
// The deterministic bundle writer (spec §0 "Deterministic archives", export-formats §4.6/§4.7):
// byte-ordered names, fixed owner, mode and mtime, no directory entries, one fixed compressor
// level. Files are streamed from the staging area with backpressure, so memory stays flat
// however large the data files are, and the tar and compressed bytes are hashed on the way out.
import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, createZstdCompress, constants as zlibConstants } from 'node:zlib';
import { StellaError } from '@stella/core';
import { type Pack, pack as tarPack } from 'tar-stream';
import { ExportErrors } from '../errors.ts';
import { comparePaths, unsafePathReason } from './paths.ts';

export type BundleCodec = 'zstd' | 'gzip' | 'none';

export interface BundleCompression {
  codec: BundleCodec;
  /** zstd 1–19 (default 3), gzip 1–9 (default 6); ignored for `none`. */
  level?: number;
}

export interface BundleEntry {
  /** Member name inside the archive, e.g. `data/raw/advisories.jsonl`. */
  path: string;
  size: number;
  /** Absolute path of a staged file (streamed, never read whole) or the bytes themselves. */
  source: string | Uint8Array;
}

export interface WriteBundleOptions {
  /** Every entry's mtime; truncated to whole seconds, as tar stores it. */
  mtime: Date;
  compression: BundleCompression;
}

export interface WrittenBundle {
  /** `sha256:<hex>` of the bytes written to `out` (compressed). */
  digest: string;
  bytes: number;
  /** `sha256:<hex>` of the uncompressed tar: stable even if a compressor's output ever changes. */
  tarDigest: string;
  tarBytes: number;
}

export const DEFAULT_ZSTD_LEVEL = 3;
export const DEFAULT_GZIP_LEVEL = 6;

const EXTENSIONS: Record<BundleCodec, string> = { zstd: '.tar.zst', gzip: '.tar.gz', none: '.tar' };
const MEDIA_TYPES: Record<BundleCodec, string> = {
  zstd: 'application/vnd.stellaops.export.bundle.v1.tar+zstd',
  gzip: 'application/vnd.stellaops.export.bundle.v1.tar+gzip',
  none: 'application/vnd.stellaops.export.bundle.v1.tar',
};

export function bundleExtension(codec: BundleCodec): string {
  return EXTENSIONS[codec];
}

export function bundleMediaType(codec: BundleCodec): string {
  return MEDIA_TYPES[codec];
}

/** Staged files are read in 1 MiB chunks: the default 64 KiB costs measurably more per byte. */
const READ_CHUNK = 1 << 20;

/**
 * Counts and hashes whatever passes through. With `reslice`, it also hands on the bytes in pieces of
 * exactly READ_CHUNK: Node's zstd output depends on how its input is split into writes, so fixed
 * pieces make the compressed bytes a function of the tar bytes alone, whatever tar-stream and the
 * file reads did; and one write per MiB instead of per 512-byte header costs far fewer round trips.
 */
class DigestTap extends Transform {
  readonly hash: Hash = createHash('sha256');
  bytes = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly reslice: boolean;
  constructor(reslice = false) {
    super({ highWaterMark: READ_CHUNK });
    this.reslice = reslice;
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (!this.reslice) {
      callback(null, chunk);
      return;
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= READ_CHUNK) {
      let all = Buffer.concat(this.pending, this.pendingBytes);
      while (all.length >= READ_CHUNK) {
        this.push(all.subarray(0, READ_CHUNK));
        all = all.subarray(READ_CHUNK);
      }
      this.pending = all.length > 0 ? [all] : [];
      this.pendingBytes = all.length;
    }
    callback();
  }
  override _flush(callback: TransformCallback): void {
    if (this.pendingBytes > 0) this.push(Buffer.concat(this.pending, this.pendingBytes));
    callback();
  }
}

function badEntry(message: string): StellaError {
  return new StellaError(ExportErrors.adapter, `bundle entry ${message}`);
}

function sortedEntries(entries: readonly BundleEntry[]): BundleEntry[] {
  const sorted = [...entries].sort((a, b) => comparePaths(a.path, b.path));
  for (const [i, entry] of sorted.entries()) {
    const reason = unsafePathReason(entry.path);
    if (reason) throw badEntry(`${JSON.stringify(entry.path)}: ${reason}`);
    if (i > 0 && sorted[i - 1]!.path === entry.path) throw badEntry(`${entry.path}: listed twice`);
    if (!Number.isSafeInteger(entry.size) || entry.size < 0) throw badEntry(`${entry.path}: size must be >= 0`);
    if (typeof entry.source !== 'string' && entry.source.byteLength !== entry.size)
      throw badEntry(`${entry.path}: ${entry.source.byteLength} bytes given, size says ${entry.size}`);
  }
  return sorted;
}

function levelFor(compression: BundleCompression): number {
  const [fallback, max] = compression.codec === 'zstd' ? [DEFAULT_ZSTD_LEVEL, 19] : [DEFAULT_GZIP_LEVEL, 9];
  const level = compression.level ?? fallback;
  if (!Number.isInteger(level) || level < 1 || level > max)
    throw new RangeError(`${compression.codec} level must be an integer from 1 to ${max}, got ${level}`);
  return level;
}

/** One compressor per codec, with every parameter pinned so the same tar always gives the same bytes. */
function compressorFor(compression: BundleCompression): Transform | undefined {
  if (compression.codec === 'none') return undefined;
  const level = levelFor(compression);
  if (compression.codec === 'gzip') {
    // Node's gzip header carries mtime 0, no file name and OS 3: the `gzip -n` form.
    return createGzip({ level, chunkSize: READ_CHUNK });
  }
  return createZstdCompress({
    chunkSize: READ_CHUNK,
    params: {
      [zlibConstants.ZSTD_c_compressionLevel]: level,
      // A frame checksum lets `zstd -t` and any decoder catch corruption on its own.
      [zlibConstants.ZSTD_c_checksumFlag]: 1,
    },
  });
}

async function writeEntry(pack: Pack, entry: BundleEntry, mtime: Date): Promise<void> {
  const header = {
    name: entry.path,
    size: entry.size,
    type: 'file' as const,
    mode: 0o644,
    mtime,
    uid: 0,
    gid: 0,
    uname: 'root',
    gname: 'root',
  };
  const { promise: done, resolve, reject } = Promise.withResolvers<void>();
  const onDone = (error?: Error | null) => (error ? reject(error) : resolve());
  if (typeof entry.source !== 'string') {
    const bytes = entry.source;
    pack.entry(header, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), onDone);
    return done;
  }
  const sink = pack.entry(header, onDone);
  // Failures reach the caller through `done` or the throw below; an unheard 'error' would crash the process.
  sink.on('error', () => {});
  let written = 0;
  try {
    for await (const chunk of createReadStream(entry.source, { highWaterMark: READ_CHUNK })) {
      written += (chunk as Buffer).length;
      // A file that grew after staging would shift every later header: stop before writing past the size.
      if (written > entry.size) throw badEntry(`${entry.path}: staged file is larger than its size ${entry.size}`);
      if (!sink.write(chunk)) await once(sink, 'drain');
    }
    if (written !== entry.size)
      throw badEntry(`${entry.path}: staged file has ${written} bytes, size says ${entry.size}`);
  } catch (error) {
    sink.destroy(error as Error);
    done.catch(() => {});
    throw error;
  }
  // streamx types `end` with a required chunk; undefined ends without writing.
  sink.end(undefined);
  return done;
}

/**
 * Writes the entries as one deterministic archive to `out` (which is ended). Same entries, mtime
 * and compression give the same bytes, whatever order the entries come in.
 */
export async function writeBundle(
  entries: readonly BundleEntry[],
  options: WriteBundleOptions,
  out: NodeJS.WritableStream,
): Promise<WrittenBundle> {
  const sorted = sortedEntries(entries);
  const mtime = new Date(Math.floor(options.mtime.getTime() / 1000) * 1000);
  if (Number.isNaN(mtime.getTime()) || mtime.getTime() < 0) throw new RangeError('bundle mtime must be a valid date');
  const compressor = compressorFor(options.compression);
  const tarTap = new DigestTap(compressor !== undefined);
  const outTap = compressor ? new DigestTap() : tarTap;
  const pack = tarPack();
  const stages: NodeJS.ReadWriteStream[] = compressor ? [tarTap, compressor, outTap] : [tarTap];
  const flowing = pipeline([pack as unknown as NodeJS.ReadableStream, ...stages, out]);
  try {
    for (const entry of sorted) await writeEntry(pack, entry, mtime);
    pack.finalize();
  } catch (error) {
    pack.destroy(error as Error);
    await flowing.catch(() => {});
    throw error;
  }
  await flowing;
  const tarDigest = `sha256:${tarTap.hash.digest('hex')}`;
  return {
    digest: outTap === tarTap ? tarDigest : `sha256:${outTap.hash.digest('hex')}`,
    bytes: outTap.bytes,
    tarDigest,
    tarBytes: tarTap.bytes,
  };
}
