// Streams an NDJSON upload (optionally gzip) without holding it: lines are parsed as they arrive,
// the decompressed bytes are hashed and spooled to a temporary file, and the caps on upload size,
// decompressed size (gzip bombs) and line length are enforced while reading. Only a batch that
// validated completely is handed on for storage; anything else leaves nothing behind.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Errors, type Sha256Digest, StellaError } from '@stella/core';
import { addEvent, type EventLimits, RuntimeAggregate, refuse } from './events.ts';

export interface StreamLimits extends EventLimits {
  maxUploadBytes: number;
  maxDecompressedBytes: number;
  maxLineBytes: number;
}

export interface SpooledBatch {
  aggregate: RuntimeAggregate;
  /** sha256 of the decompressed NDJSON. */
  digest: Sha256Digest;
  bytes: number;
  /** The decompressed bytes again, for storing in CAS; call dispose() afterwards. */
  body(): Buffer | NodeJS.ReadableStream;
  dispose(): Promise<void>;
}

/**
 * A batch is kept in memory up to this size and spilled to a temporary file beyond it, so an upload
 * never costs more memory than this per request while typical batches (1,000 events, ~200 KB) skip
 * the file system entirely.
 */
const SPOOL_MEMORY_BYTES = 4 * 1024 * 1024;

/** Collects bytes in memory, moving to a temporary file once they pass SPOOL_MEMORY_BYTES. */
class Spool {
  private chunks: Buffer[] = [];
  private size = 0;
  private dir: string | undefined;
  private file: string | undefined;
  private out: ReturnType<typeof createWriteStream> | undefined;

  async write(chunk: Buffer): Promise<void> {
    this.size += chunk.length;
    if (!this.out && this.size <= SPOOL_MEMORY_BYTES) {
      this.chunks.push(chunk);
      return;
    }
    if (!this.out) {
      this.dir = await mkdtemp(join(tmpdir(), 'stella-runtime-'));
      this.file = join(this.dir, 'batch.ndjson');
      this.out = createWriteStream(this.file);
      for (const c of this.chunks) this.out.write(c);
      this.chunks = [];
    }
    if (!this.out.write(chunk)) await new Promise<void>((r) => this.out!.once('drain', () => r()));
  }

  async finish(): Promise<void> {
    const out = this.out;
    if (!out) return;
    await new Promise<void>((resolve, reject) => {
      out.once('error', reject);
      out.end(() => resolve());
    });
  }

  body(): Buffer | NodeJS.ReadableStream {
    return this.file ? createReadStream(this.file) : Buffer.concat(this.chunks);
  }

  async dispose(): Promise<void> {
    this.out?.destroy();
    this.chunks = [];
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

const NEWLINE = 0x0a;

export async function readRuntimeStream(
  body: AsyncIterable<Uint8Array>,
  options: { gzip: boolean; limits: StreamLimits },
): Promise<SpooledBatch> {
  const { limits } = options;
  const spool = new Spool();
  const hash = createHash('sha256');
  const aggregate = new RuntimeAggregate();
  let decompressed = 0;
  let lineNumber = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;

  const takeLine = (line: Buffer) => {
    lineNumber++;
    const text = line.toString('utf8').trim();
    if (text === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw refuse(`line ${lineNumber} is not valid JSON; the batch was rejected and nothing was stored`);
    }
    addEvent(aggregate, value, `line ${lineNumber}`, limits);
  };

  const consume = (chunk: Buffer) => {
    decompressed += chunk.length;
    if (decompressed > limits.maxDecompressedBytes) {
      throw new StellaError(
        Errors.bodyTooLarge,
        `runtime fact stream decompresses to more than ${limits.maxDecompressedBytes} bytes (signals.maxDecompressedBytes); split it`,
      );
    }
    hash.update(chunk);
    let start = 0;
    for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, i);
      if (pendingBytes + piece.length > limits.maxLineBytes) throw lineTooLong(lineNumber + 1, limits.maxLineBytes);
      takeLine(pendingBytes ? Buffer.concat([...pending, piece]) : piece);
      pending = [];
      pendingBytes = 0;
      start = i + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      pendingBytes += rest.length;
      if (pendingBytes > limits.maxLineBytes) throw lineTooLong(lineNumber + 1, limits.maxLineBytes);
      pending.push(Buffer.from(rest));
    }
  };

  try {
    let uploaded = 0;
    const counted = async function* () {
      for await (const chunk of body) {
        uploaded += chunk.length;
        if (uploaded > limits.maxUploadBytes) {
          throw new StellaError(
            Errors.bodyTooLarge,
            `runtime fact upload exceeds ${limits.maxUploadBytes} bytes (signals.maxUploadBytes); split it into batches`,
          );
        }
        yield chunk;
      }
    };
    // Seed 000 uploads runtime-trace.ndjson.gz with only Content-Type set, so gzip is also recognised
    // by its magic bytes, not just by Content-Encoding.
    const sniffed = await sniffGzip(counted());
    const source: AsyncIterable<Uint8Array> =
      options.gzip || sniffed.gzip ? gunzip(sniffed.body, limits.maxDecompressedBytes) : sniffed.body;
    for await (const chunk of source) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      consume(buffer);
      await spool.write(buffer);
    }
    if (pendingBytes > 0) takeLine(Buffer.concat(pending));
    if (aggregate.events === 0) throw refuse('runtime fact stream was empty');
    await spool.finish();
    return {
      aggregate,
      digest: `sha256:${hash.digest('hex')}`,
      bytes: decompressed,
      body: () => spool.body(),
      dispose: () => spool.dispose(),
    };
  } catch (error) {
    await spool.dispose();
    throw error;
  }
}

async function sniffGzip(body: AsyncIterable<Uint8Array>): Promise<{ gzip: boolean; body: AsyncIterable<Uint8Array> }> {
  const iterator = body[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return { gzip: false, body: (async function* () {})() };
  const head = first.value;
  const gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  return {
    gzip,
    body: (async function* () {
      yield head;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    })(),
  };
}

function lineTooLong(line: number, max: number): StellaError {
  return new StellaError(Errors.bodyTooLarge, `line ${line} is longer than ${max} bytes (signals.maxLineBytes)`);
}

/**
 * Decompresses with a hard stop: zlib is fed chunk by chunk and output is counted as it appears, so
 * a bomb is refused after maxBytes of output rather than after inflating entirely.
 */
async function* gunzip(source: AsyncIterable<Uint8Array>, maxBytes: number): AsyncGenerator<Buffer> {
  const inflater = createGunzip({ chunkSize: 64 * 1024 });
  let failed: Error | undefined;
  inflater.on('error', (e) => {
    failed = e;
  });
  const feed = (async () => {
    try {
      for await (const chunk of source) {
        if (!inflater.write(chunk)) {
          // 'close' too: a consumer that stopped early destroys the inflater, which never drains.
          await new Promise((r) => {
            inflater.once('drain', r);
            inflater.once('close', r);
          });
        }
        if (failed) return;
      }
      inflater.end();
    } catch (error) {
      inflater.destroy(error as Error);
    }
  })();
  let produced = 0;
  try {
    for await (const chunk of inflater) {
      produced += (chunk as Buffer).length;
      if (produced > maxBytes) break; // consume() raises the 413 with the configured limit
      yield chunk as Buffer;
    }
    if (produced > maxBytes) {
      throw new StellaError(
        Errors.bodyTooLarge,
        `runtime fact stream decompresses to more than ${maxBytes} bytes (signals.maxDecompressedBytes); split it`,
      );
    }
  } catch (error) {
    if (error instanceof StellaError) throw error;
    throw new StellaError(Errors.malformedBody, `gzip body could not be decompressed: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    inflater.destroy();
    await feed.catch(() => {});
  }
}
