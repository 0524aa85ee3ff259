// SPDX-License-Identifier: Apache-2.0
// Reads an OSV `all.zip` (local path or URL) entry by entry with yauzl, never extracting to disk.
// The whole central directory is checked before the first document is handed over: too many
// entries, a declared total over the cap, absolute or `..` paths, symlinks, encrypted or duplicate
// entries refuse the archive outright. An entry that inflates beyond its declared size, declares a
// compressed size deflate cannot produce, exceeds the document cap or has a wrong CRC is only found
// when it is reached: documents handed over before it stay valid (the caller commits per document;
// this is partial output by design) and the error names the entry. While reading, the entries handed
// over and the bytes inflated are counted against limits.archiveEntries and limits.decompressedBytes
// again, so the caps hold even where the headers lie, and an entry deflated beyond
// MAX_COMPRESSION_RATIO (a bomb's signature) is refused.
// Order is the sorted entry name; the cursor is the last entry name.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';
import { isoUtc } from '@stella/core';
import yauzl from 'yauzl';
import { CONNECTOR_VERSION, compareStrings, isDocumentName, withEnvelopeSignature } from './documents.ts';
import { ConnectorError } from './errors.ts';
import { DEFAULT_HTTP_SETTINGS, downloadToFile, type HttpSettings } from './http-client.ts';
import type { Connector, FetchedDocument, FetchOptions } from './types.ts';

/**
 * Archives up to this size are read into memory once: one positioned read per entry roughly halves
 * the throughput. Per-ecosystem OSV zips are far below it; the all-ecosystems one is read from disk.
 */
export const IN_MEMORY_ARCHIVE_BYTES = 128 * 1024 * 1024;

/**
 * Real JSON deflates 5–20:1; 100:1 is only reached by padding made to expand. Applied to entries that
 * inflate beyond RATIO_CHECK_BYTES, since a small entry cannot hurt whatever its ratio.
 */
export const MAX_COMPRESSION_RATIO = 100;
const RATIO_CHECK_BYTES = 1024 * 1024;

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

function hostile(archive: string, message: string, cause?: unknown): ConnectorError {
  return new ConnectorError('ERR_CONNECTOR_HOSTILE_ARCHIVE', `${archive}: refused: ${message}`, {
    location: archive,
    cause,
  });
}

/** Reads the central directory and refuses the archive on the first hostile entry. */
async function listEntries(zip: yauzl.ZipFile, archive: string, options: FetchOptions): Promise<yauzl.Entry[]> {
  const { archiveEntries, decompressedBytes } = options.limits;
  if (zip.entryCount > archiveEntries)
    throw hostile(archive, `${zip.entryCount} entries, more than the cap of ${archiveEntries}`);
  const entries: yauzl.Entry[] = [];
  const names = new Set<string>();
  let declaredTotal = 0;
  await new Promise<void>((done, fail) => {
    zip.on('error', (err: Error) => fail(hostile(archive, err.message, err)));
    zip.on('end', () => done());
    zip.on('entry', (entry: yauzl.Entry) => {
      const name = entry.fileName;
      const problem = entry.isEncrypted()
        ? 'is encrypted'
        : ((entry.externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK
          ? 'is a symbolic link'
          : names.has(name)
            ? 'appears twice'
            : undefined;
      if (problem) return fail(hostile(archive, `entry "${name}" ${problem}`));
      names.add(name);
      if (entries.length >= archiveEntries)
        return fail(hostile(archive, `more than the cap of ${archiveEntries} entries (at "${name}")`));
      if (
        entry.uncompressedSize > RATIO_CHECK_BYTES &&
        entry.uncompressedSize > MAX_COMPRESSION_RATIO * Math.max(1, entry.compressedSize)
      )
        return fail(
          hostile(
            archive,
            `entry "${name}" inflates ${entry.compressedSize} bytes to ${entry.uncompressedSize}, more than ${MAX_COMPRESSION_RATIO}:1`,
          ),
        );
      declaredTotal += entry.uncompressedSize;
      if (declaredTotal > decompressedBytes)
        return fail(
          hostile(archive, `entries declare more than the cap of ${decompressedBytes} bytes in total (at "${name}")`),
        );
      entries.push(entry);
      zip.readEntry();
    });
    zip.readEntry();
  });
  return entries;
}

async function readEntry(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  archive: string,
  documentBytes: number,
  cursor: string,
) {
  const name = entry.fileName;
  const location = `${archive}!/${name}`;
  if (entry.uncompressedSize > documentBytes)
    throw new ConnectorError(
      'ERR_CONNECTOR_TOO_LARGE',
      `${location}: declares ${entry.uncompressedSize} bytes, more than the document cap of ${documentBytes}`,
      { location, cursor },
    );
  // Deflate never grows data by more than ~0.1 % plus block headers; a larger compressed size is a lie
  // that would otherwise make us buffer an arbitrary amount before inflating.
  const maxCompressed = entry.uncompressedSize + Math.ceil(entry.uncompressedSize / 1000) + 1024;
  if (entry.compressedSize > maxCompressed)
    throw hostile(
      archive,
      `entry "${name}" declares ${entry.compressedSize} compressed bytes for ${entry.uncompressedSize} inflated`,
    );
  if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8)
    throw new ConnectorError(
      'ERR_CONNECTOR_MALFORMED',
      `${location}: compression method ${entry.compressionMethod} is not supported (only stored and deflate)`,
      { location, cursor },
    );
  // The raw entry is read and inflated in one synchronous call: OSV records are a few KiB, and a
  // stream per entry costs more than the inflation itself.
  let raw: Buffer;
  try {
    // yauzl refuses `decompress: false` for a stored entry, whose bytes are raw already.
    const stream = await zip.openReadStreamPromise(entry, entry.compressionMethod === 0 ? {} : { decompress: false });
    const chunks: Buffer[] = [];
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    raw = Buffer.concat(chunks);
  } catch (err) {
    throw new ConnectorError('ERR_CONNECTOR_MALFORMED', `${location}: cannot read (${(err as Error).message})`, {
      location,
      cursor,
      cause: err,
    });
  }
  let inflated: Buffer;
  if (entry.compressionMethod === 0) inflated = raw;
  else
    try {
      // One byte of headroom so "inflates beyond its declared size" is told apart from "exactly the size".
      inflated = inflateRawSync(raw, { maxOutputLength: entry.uncompressedSize + 1 });
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError)
        throw hostile(archive, `entry "${name}" inflates beyond its declared size of ${entry.uncompressedSize} bytes`);
      throw new ConnectorError('ERR_CONNECTOR_MALFORMED', `${location}: cannot inflate (${(err as Error).message})`, {
        location,
        cursor,
        cause: err,
      });
    }
  const total = inflated.length;
  if (total > entry.uncompressedSize)
    throw hostile(archive, `entry "${name}" inflates beyond its declared size of ${entry.uncompressedSize} bytes`);
  if (total !== entry.uncompressedSize)
    throw hostile(archive, `entry "${name}" inflates to ${total} bytes but declares ${entry.uncompressedSize}`);
  const bytes = inflated;
  if (crc32(bytes) >>> 0 !== entry.crc32 >>> 0)
    throw new ConnectorError('ERR_CONNECTOR_MALFORMED', `${location}: CRC-32 mismatch, the entry is corrupt`, {
      location,
      cursor,
    });
  return { location, bytes: new Uint8Array(bytes) };
}

async function* readArchive(
  path: string,
  archive: string,
  options: FetchOptions,
  inMemoryBytes: number,
): AsyncGenerator<FetchedDocument> {
  let zip: yauzl.ZipFile;
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    throw new ConnectorError('ERR_CONNECTOR_INPUT', `${archive}: cannot read input (${(err as Error).message})`, {
      location: archive,
      cause: err,
    });
  }
  try {
    // Our own size checks name the entry; yauzl's would only say "too many bytes in the stream".
    const zipOptions = { lazyEntries: true, autoClose: false, validateEntrySizes: false };
    zip =
      size <= inMemoryBytes
        ? await yauzl.fromBufferPromise(await readFile(path), zipOptions)
        : await yauzl.openPromise(path, zipOptions);
  } catch (err) {
    throw new ConnectorError(
      'ERR_CONNECTOR_MALFORMED',
      `${archive}: not a readable zip archive (${(err as Error).message})`,
      {
        location: archive,
        cause: err,
      },
    );
  }
  try {
    const entries = await listEntries(zip, archive, options);
    const documents = entries
      .filter((e) => !e.fileName.endsWith('/') && isDocumentName(e.fileName) && !e.fileName.endsWith('.gz'))
      .sort((a, b) => compareStrings(a.fileName, b.fileName));
    const handedOver = new Set(documents);
    for (const e of entries)
      if (!e.fileName.endsWith('/') && !handedOver.has(e))
        options.onSkip?.({ location: `${archive}!/${e.fileName}`, reason: 'not a *.json document' });
    let done = 0;
    let inflatedTotal = 0;
    for (const entry of documents) {
      done++;
      const cursor = entry.fileName;
      if (options.cursor !== undefined && compareStrings(cursor, options.cursor) <= 0) continue;
      options.signal?.throwIfAborted();
      const { location, bytes } = await readEntry(zip, entry, archive, options.limits.documentBytes, cursor);
      inflatedTotal += bytes.length;
      if (inflatedTotal > options.limits.decompressedBytes)
        throw hostile(
          archive,
          `entries inflate to more than the cap of ${options.limits.decompressedBytes} bytes in total (at "${entry.fileName}")`,
        );
      options.onProgress?.({ done, total: documents.length, location });
      yield withEnvelopeSignature({ location, bytes, retrievedAt: isoUtc(options.now()), cursor });
    }
  } finally {
    zip.close();
  }
}

export function createOsvZipConnector(
  settings: Partial<HttpSettings> = {},
  inMemoryBytes = IN_MEMORY_ARCHIVE_BYTES,
): Connector {
  const http = { ...DEFAULT_HTTP_SETTINGS, ...settings };
  async function* fetchZip(options: FetchOptions): AsyncGenerator<FetchedDocument> {
    if (!/^https?:\/\//i.test(options.input)) {
      yield* readArchive(resolve(options.input), basename(options.input), options, inMemoryBytes);
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), 'stella-osv-zip-'));
    try {
      const path = join(dir, 'archive.zip');
      // An archive is its (compressed) entries plus headers, so the expansion cap plus 1 KiB of headers per
      // entry bounds the download; anything larger would be refused by listEntries anyway.
      const maxArchiveBytes = options.limits.decompressedBytes + options.limits.archiveEntries * 1024;
      const found = await downloadToFile(options.input, path, maxArchiveBytes, {
        fetch: options.fetch ?? fetch,
        signal: options.signal,
        settings: http,
      });
      if (!found) throw new ConnectorError('ERR_CONNECTOR_INPUT', `${options.input}: not found (HTTP 404)`);
      yield* readArchive(path, options.input, options, inMemoryBytes);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return { name: 'osv-zip', version: CONNECTOR_VERSION, fetch: fetchZip };
}
