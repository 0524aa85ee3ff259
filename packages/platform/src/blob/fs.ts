// Filesystem BlobStore: objects live at `<root>/<namespace>/<hh>/<sha256hex>`. Uploads are hashed while
// they stream into `<root>/.tmp/`, fsynced, then renamed into place, so readers see whole objects or none.
// Also holds the staging and verifying stream helpers that the S3 store reuses.
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Errors, parseSha256, type Sha256Digest, StellaError } from '@stella/core';
import type { BlobBody, BlobHead, BlobStore, PutOptions, PutResult } from './port.ts';
import { assertNamespace, formatCasUri, parseCasUri } from './uri.ts';

export interface FsBlobStoreOptions {
  root: string;
}

export interface StagedBody {
  /** Temporary file holding the complete, fsynced body. */
  path: string;
  hex: string;
  size: number;
}

const OBJECT_NAME_RE = /^[0-9a-f]{64}$/;
const FANOUT_DIR_RE = /^[0-9a-f]{2}$/;

export function createFsBlobStore(options: FsBlobStoreOptions): BlobStore {
  const root = options.root;
  // Staging inside the root keeps the final rename on one filesystem, where it is atomic.
  const stagingDir = join(root, '.tmp');
  const openVerified = (uri: string) => openVerifiedIn(root, uri);
  return {
    put: (namespace: string, body: BlobBody, putOptions: PutOptions = {}) =>
      putFile(root, stagingDir, namespace, body, putOptions),
    get: openVerified,
    async getBytes(uri: string, maxBytes?: number): Promise<Buffer> {
      return readVerified(await openVerified(uri), uri, maxBytes);
    },
    getRange: (uri: string, start: number, end: number) => openRange(root, uri, start, end),
    head: (uri: string) => headFile(root, uri),
    delete: (uri: string) => deleteFile(root, uri),
    list: (namespace: string) => listFiles(root, namespace),
  };
}

function objectPath(root: string, namespace: string, hex: string): string {
  return join(root, ...namespace.split('/'), hex.slice(0, 2), hex);
}

async function openVerifiedIn(root: string, uri: string): Promise<Readable> {
  const { namespace, hex } = parseCasUri(uri);
  const handle = await open(objectPath(root, namespace, hex), 'r').catch((error: unknown) => {
    throw isMissing(error) ? casNotFound(uri, error) : error;
  });
  return verifyingStream(handle.createReadStream(), hex, uri);
}

/** Where a staged put writes: whether a verified object already holds these bytes, and how to store them. */
export interface StagedWrite {
  matches(uri: string, hex: string): Promise<boolean>;
  write(staged: StagedBody, namespace: string): Promise<void>;
  /** Marks a matching object as written now (see BlobStore.put). */
  refresh(staged: StagedBody, namespace: string): Promise<void>;
}

/**
 * The put of both backends: the body is staged (hashed, size-capped, digest-checked) before its key
 * is known; an existing object is trusted only after re-hashing, and a corrupted one is replaced by
 * the verified upload; the staged file is always removed.
 */
export async function putStaged(
  stagingDir: string,
  namespace: string,
  body: BlobBody,
  putOptions: PutOptions,
  target: StagedWrite,
): Promise<PutResult> {
  assertNamespace(namespace);
  const staged = await stageBody(stagingDir, body, putOptions);
  try {
    const uri = formatCasUri(namespace, staged.hex);
    const digest: Sha256Digest = `sha256:${staged.hex}`;
    if (await target.matches(uri, staged.hex)) {
      await target.refresh(staged, namespace);
      return { uri, digest, size: staged.size, created: false };
    }
    await target.write(staged, namespace);
    return { uri, digest, size: staged.size, created: true };
  } finally {
    await rm(staged.path, { force: true });
  }
}

function putFile(
  root: string,
  stagingDir: string,
  namespace: string,
  body: BlobBody,
  putOptions: PutOptions,
): Promise<PutResult> {
  return putStaged(stagingDir, namespace, body, putOptions, {
    matches: (_uri, hex) => fileMatches(objectPath(root, namespace, hex), hex),
    async write(staged) {
      const finalPath = objectPath(root, namespace, staged.hex);
      await mkdir(dirname(finalPath), { recursive: true });
      // Two writers of the same content may both rename; the bytes are identical, so either wins.
      await rename(staged.path, finalPath);
      await syncDirectory(dirname(finalPath));
    },
    async refresh(staged) {
      const now = new Date();
      await utimes(objectPath(root, namespace, staged.hex), now, now);
    },
  });
}

async function openRange(root: string, uri: string, start: number, end: number): Promise<Readable> {
  const { namespace, hex } = parseCasUri(uri);
  const handle = await open(objectPath(root, namespace, hex), 'r').catch((error: unknown) => {
    throw isMissing(error) ? casNotFound(uri, error) : error;
  });
  return handle.createReadStream({ start, end });
}

async function headFile(root: string, uri: string): Promise<BlobHead | undefined> {
  const { namespace, hex } = parseCasUri(uri);
  try {
    const stats = await stat(objectPath(root, namespace, hex));
    return { size: stats.size, modified: stats.mtime };
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

async function deleteFile(root: string, uri: string): Promise<boolean> {
  const { namespace, hex } = parseCasUri(uri);
  try {
    await rm(objectPath(root, namespace, hex));
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

async function* listFiles(root: string, namespace: string): AsyncIterable<string> {
  assertNamespace(namespace);
  const namespaceDir = join(root, ...namespace.split('/'));
  // Fan-out directories sit beside nested namespaces' directories; only two-hex-char names are ours.
  for (const fanout of (await readdirOrEmpty(namespaceDir)).filter((name) => FANOUT_DIR_RE.test(name))) {
    for (const name of await readdirOrEmpty(join(namespaceDir, fanout))) {
      if (OBJECT_NAME_RE.test(name) && name.startsWith(fanout)) yield formatCasUri(namespace, name);
    }
  }
}

/**
 * Streams a body into a new file under stagingDir while hashing and counting it, then fsyncs it.
 * On a digest mismatch, an oversized body or any stream error the file is removed before throwing.
 */
export async function stageBody(stagingDir: string, body: BlobBody, options: PutOptions = {}): Promise<StagedBody> {
  const expectedHex = options.expectedDigest === undefined ? undefined : expectedHexOf(options.expectedDigest);
  const { maxBytes } = options;
  await mkdir(stagingDir, { recursive: true });
  const path = join(stagingDir, `${randomUUID()}.partial`);
  const hash = createHash('sha256');
  let size = 0;
  // The file is opened before the pipeline starts: a stream that opens lazily can still be opening when
  // an oversized or failing body rejects the pipeline, and would create the file after the cleanup
  // below had already removed nothing (a leftover .partial, seen under load).
  const file = await open(path, 'wx');
  try {
    await pipeline(
      chunksOf(body),
      async function* measure(source: AsyncIterable<Uint8Array>) {
        for await (const chunk of source) {
          size += chunk.byteLength;
          if (maxBytes !== undefined && size > maxBytes) {
            throw new StellaError(Errors.bodyTooLarge, `CAS body exceeds the limit of ${maxBytes} bytes`);
          }
          hash.update(chunk);
          yield chunk;
        }
      },
      // flush: fsync before close, so the rename never publishes a name whose data is not on disk yet.
      file.createWriteStream({ flush: true }),
    );
    const hex = hash.digest('hex');
    if (expectedHex !== undefined && hex !== expectedHex) {
      throw new StellaError(Errors.cas, `CAS body has digest sha256:${hex}, expected sha256:${expectedHex}`, {
        details: { expected: `sha256:${expectedHex}`, actual: `sha256:${hex}` },
      });
    }
    return { path, hex, size };
  } catch (error) {
    await file.close().catch(() => {}); // already closed when the stream got to close it
    await rm(path, { force: true });
    throw error;
  }
}

/** Passes the object's bytes through and fails the stream at its end if they do not hash to `hex`. */
export function verifyingStream(source: Readable, hex: string, uri: string): Readable {
  const hash = createHash('sha256');
  const verifier = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      const actual = hash.digest('hex');
      callback(actual === hex ? null : digestMismatchAtRest(uri, actual));
    },
  });
  // pipeline forwards source errors to the verifier and closes the source if the reader stops early.
  pipeline(source, verifier).catch(() => {});
  return verifier;
}

/** Collects a verifying stream into memory, refusing more than maxBytes. */
export async function readVerified(stream: Readable, uri: string, maxBytes?: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (maxBytes !== undefined && size > maxBytes) {
      stream.destroy();
      throw new StellaError(Errors.bodyTooLarge, `CAS object ${uri} is larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

export function digestMismatchAtRest(uri: string, actualHex: string): StellaError {
  return new StellaError(Errors.cas, `CAS object ${uri} now hashes to sha256:${actualHex}; it was corrupted at rest`, {
    details: { uri, actual: `sha256:${actualHex}` },
  });
}

export function casNotFound(uri: string, cause?: unknown): StellaError {
  return new StellaError(Errors.casNotFound, `no CAS object at ${uri}`, { cause });
}

function expectedHexOf(expectedDigest: string): string {
  const hex = parseSha256(expectedDigest);
  if (hex === undefined) {
    throw new StellaError(
      Errors.validation,
      `expectedDigest must be sha256:<64 hex> or 64 hex characters, got ${JSON.stringify(expectedDigest)}`,
    );
  }
  return hex;
}

async function* chunksOf(body: BlobBody): AsyncIterable<Uint8Array> {
  if (body instanceof Uint8Array) {
    yield body;
    return;
  }
  for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
    yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  }
}

async function fileMatches(path: string, hex: string): Promise<boolean> {
  const hash = createHash('sha256');
  try {
    const handle = await open(path, 'r');
    for await (const chunk of handle.createReadStream()) hash.update(chunk);
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
  return hash.digest('hex') === hex;
}

/** Makes the rename itself durable; platforms that cannot fsync a directory are skipped. */
async function syncDirectory(path: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM') throw error;
  } finally {
    await handle?.close();
  }
}

async function readdirOrEmpty(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).sort();
  } catch (error) {
    if (isMissing(error) || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw error;
  }
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
