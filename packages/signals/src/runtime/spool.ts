// Holds a runtime upload's decompressed bytes until the batch has validated and is stored in CAS: in
// memory up to SPOOL_MEMORY_BYTES, beyond that in a file of its own directory under the spool root
// ($STELLA_HOME/tmp/signals-runtime). Writes go through a FileHandle and run one at a time, so no
// write is ever in flight when the spool is disposed: a WriteStream destroyed with a write pending
// emitted an 'error' nobody listened for, and that killed the process. Directory names carry the
// host, pid and a per-process nonce, so a later start can remove what a dead process left behind.
import { randomBytes } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { type FileHandle, mkdir, mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isProcessRunning } from '@stella/platform';

/**
 * A batch is kept in memory up to this size and spilled to a file beyond it, so an upload never
 * costs more memory than this per request while typical batches (1,000 events, ~200 KB) skip the
 * file system entirely.
 */
export const SPOOL_MEMORY_BYTES = 4 * 1024 * 1024;
/**
 * Once spilled, chunks are gathered to this size before each file write: an upload arrives in
 * chunks of a few KiB, and one thread-pool write per chunk cost more than parsing them.
 */
const FILE_WRITE_BYTES = 1024 * 1024;

const HOST = hostname().replace(/[^A-Za-z0-9-]/g, '_') || 'host';
const NONCE = randomBytes(4).toString('hex');
/** `<host>.<pid>.<nonce>.`: mkdtemp appends six random characters. */
const OWNER_PREFIX = `${HOST}.${process.pid}.${NONCE}.`;

const noop = () => {};

export class Spool {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Chunks past the in-memory part, not written to the file yet. */
  private unwritten: Buffer[] = [];
  private unwrittenBytes = 0;
  private dir: string | undefined;
  private file: string | undefined;
  private handle: FileHandle | undefined;
  private readers: ReadStream[] = [];
  /** Every file operation is chained here, so dispose() runs only after the one in progress. */
  private tail: Promise<unknown> = Promise.resolve();
  private disposed: Promise<void> | undefined;
  private readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  get bytes(): number {
    return this.size;
  }

  /** Appends a chunk; the caller awaits each call before the next. */
  write(chunk: Buffer): Promise<void> {
    if (this.disposed) return Promise.reject(new Error('the runtime spool was disposed'));
    this.size += chunk.length;
    if (!this.file && this.size <= SPOOL_MEMORY_BYTES) {
      this.chunks.push(chunk);
      return Promise.resolve();
    }
    this.unwritten.push(chunk);
    this.unwrittenBytes += chunk.length;
    if (this.unwrittenBytes < FILE_WRITE_BYTES) return Promise.resolve();
    return this.serially(() => this.flush());
  }

  /** Writes what is left and closes the file; body() may be read afterwards. */
  finish(): Promise<void> {
    if (this.disposed) return Promise.reject(new Error('the runtime spool was disposed'));
    return this.serially(async () => {
      await this.flush();
      const handle = this.handle;
      this.handle = undefined;
      await handle?.close();
    });
  }

  /** The bytes again, for storing in CAS; a new stream on each call. */
  body(): Buffer | NodeJS.ReadableStream {
    if (this.disposed) throw new Error('the runtime spool was disposed');
    if (!this.file) return Buffer.concat(this.chunks);
    const reader = createReadStream(this.file);
    // Whoever reads it sees its errors; this only keeps one raised after dispose() from going unhandled.
    reader.on('error', noop);
    this.readers.push(reader);
    return reader;
  }

  /** Removes the file and its directory once any write in progress has settled; safe to call twice. */
  dispose(): Promise<void> {
    this.disposed ??= (async () => {
      await this.tail.catch(noop);
      this.chunks = [];
      this.unwritten = [];
      for (const reader of this.readers) reader.destroy();
      await this.handle?.close().catch(noop);
      this.handle = undefined;
      if (this.dir) await rm(this.dir, { recursive: true, force: true });
    })();
    return this.disposed;
  }

  private serially<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.tail.then(operation);
    this.tail = run.catch(noop);
    return run;
  }

  private async flush(): Promise<void> {
    if (this.unwrittenBytes === 0) return;
    if (!this.handle) {
      await mkdir(this.root, { recursive: true });
      this.dir = await mkdtemp(join(this.root, OWNER_PREFIX));
      this.file = join(this.dir, 'batch.ndjson');
      this.handle = await open(this.file, 'wx');
      await writeFully(this.handle, Buffer.concat(this.chunks));
      this.chunks = [];
    }
    const data = Buffer.concat(this.unwritten);
    this.unwritten = [];
    this.unwrittenBytes = 0;
    await writeFully(this.handle, data);
  }
}

async function writeFully(handle: FileHandle, chunk: Buffer): Promise<void> {
  for (let offset = 0; offset < chunk.length; ) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

/**
 * Removes spool directories left by processes of this host that are gone (killed mid-upload): their
 * pid no longer runs, or it is this process's pid under another nonce (a container restarted as pid
 * 1). Directories of other hosts sharing the home, and anything not named like a spool, are left.
 * Returns how many were removed.
 */
export async function sweepSpool(root: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const parts = name.split('.');
    if (parts.length !== 4 || parts[0] !== HOST) continue;
    const pid = Number(parts[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || parts[2] === NONCE) continue;
    if (pid !== process.pid && isProcessRunning(pid)) continue;
    await rm(join(root, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}
