// Streams an NDJSON upload (optionally gzip) without holding it: lines are parsed as they arrive,
// the decompressed bytes are hashed and spooled (spool.ts), and the caps on upload size, decompressed
// size (gzip bombs), line length and line count are enforced while reading, so a hostile body is
// refused after at most one cap's worth of work. Each line's JSON is checked against the JSON caps
// before it is parsed. Only a batch that validated completely is handed on for storage; on every other
// outcome (a cap, a bad line, a broken gzip stream, a client that hung up) the spool is removed.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Errors, type JsonLimits, type Sha256Digest, StellaError } from '@stella/core';
import type { Config } from '@stella/platform';
import { checkJsonAt } from '../json.ts';
import { addEvent, type EventLimits, RuntimeAggregate, refuse } from './events.ts';
import { Spool } from './spool.ts';

export interface StreamLimits extends EventLimits {
  maxUploadBytes: number;
  maxDecompressedBytes: number;
  /** The config key that set maxDecompressedBytes, named in the 413. */
  decompressedKey: string;
  maxLineBytes: number;
  /** Most lines, blank ones included: 5 MB of newlines is five million lines and no event. */
  maxLines: number;
  json: JsonLimits;
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

/** Where uploads larger than the in-memory spool go: under the home, where a restart sweeps leftovers. */
export function runtimeSpoolDir(config: Pick<Config, 'home'>): string {
  return join(config.home, 'tmp', 'signals-runtime');
}

/** The stream caps from the configuration (signals.* and the platform-wide limits.*). */
export function runtimeStreamLimits(config: Pick<Config, 'signals' | 'limits'>, now: Date): StreamLimits {
  const { signals, limits } = config;
  const platformCapsDecompression = limits.decompressedBytes < signals.maxDecompressedBytes;
  return {
    maxUploadBytes: signals.maxUploadBytes,
    maxDecompressedBytes: platformCapsDecompression ? limits.decompressedBytes : signals.maxDecompressedBytes,
    decompressedKey: platformCapsDecompression ? 'limits.decompressedBytes' : 'signals.maxDecompressedBytes',
    maxLineBytes: signals.maxLineBytes,
    maxLines: signals.maxLines,
    maxEvents: signals.maxEventsPerBatch,
    maxHitCount: signals.maxHitCount,
    maxFutureSkewSeconds: signals.maxFutureSkewSeconds,
    json: { maxDepth: limits.jsonDepth, maxKeys: limits.jsonKeys, maxStringLength: limits.jsonStringLength },
    now,
  };
}

const NEWLINE = 0x0a;

/**
 * The lines of a decompressed upload as they arrive: hashed, counted, split at newlines (a line may
 * span chunks), each checked against the caps and the JSON limits, parsed and aggregated.
 */
class LineReader {
  readonly hash = createHash('sha256');
  readonly aggregate = new RuntimeAggregate();
  decompressed = 0;
  private lineNumber = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  private readonly limits: StreamLimits;

  constructor(limits: StreamLimits) {
    this.limits = limits;
  }

  consume(chunk: Buffer): void {
    const { limits } = this;
    this.decompressed += chunk.length;
    if (this.decompressed > limits.maxDecompressedBytes) throw tooLargeDecompressed(limits);
    this.hash.update(chunk);
    let start = 0;
    for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, start)) {
      if (i === start && this.pendingBytes === 0) {
        // An empty line: counted, nothing to slice or decode.
        this.countLine();
        start = i + 1;
        continue;
      }
      const piece = chunk.subarray(start, i);
      if (this.pendingBytes + piece.length > limits.maxLineBytes) {
        throw lineTooLong(this.lineNumber + 1, limits.maxLineBytes);
      }
      this.takeLine(this.pendingBytes ? Buffer.concat([...this.pending, piece]) : piece);
      this.pending = [];
      this.pendingBytes = 0;
      start = i + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.pendingBytes += rest.length;
      if (this.pendingBytes > limits.maxLineBytes) throw lineTooLong(this.lineNumber + 1, limits.maxLineBytes);
      this.pending.push(Buffer.from(rest));
    }
  }

  /** The last line, when the stream does not end with a newline. */
  finish(): void {
    if (this.pendingBytes > 0) this.takeLine(Buffer.concat(this.pending));
  }

  private countLine(): void {
    this.lineNumber++;
    if (this.lineNumber > this.limits.maxLines) {
      throw new StellaError(
        Errors.bodyTooLarge,
        `runtime fact stream has more than ${this.limits.maxLines} lines (signals.maxLines); split it into batches`,
        { details: { limit: this.limits.maxLines, key: 'signals.maxLines' } },
      );
    }
  }

  private takeLine(line: Buffer): void {
    this.countLine();
    if (isBlank(line)) return;
    const { lineNumber } = this;
    let text = line.toString('utf8');
    // A byte order mark before the first line (some Windows tools write one) is not part of the JSON.
    if (lineNumber === 1 && text.charCodeAt(0) === 0xfeff) {
      text = text.slice(1);
      if (BLANK_RE.test(text)) return;
    }
    checkJsonAt(text, this.limits.json, `line ${lineNumber}`);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw refuse(`line ${lineNumber} is not valid JSON; the batch was rejected and nothing was stored`);
    }
    addEvent(this.aggregate, value, `line ${lineNumber}`, this.limits);
  }
}

/** The upload's chunks, refused past maxUploadBytes; a failed request stream is ERR_MALFORMED_BODY. */
async function* countedUpload(body: AsyncIterable<Uint8Array>, limits: StreamLimits): AsyncGenerator<Uint8Array> {
  let uploaded = 0;
  try {
    for await (const chunk of body) {
      uploaded += chunk.length;
      if (uploaded > limits.maxUploadBytes) {
        throw new StellaError(
          Errors.bodyTooLarge,
          `runtime fact upload exceeds ${limits.maxUploadBytes} bytes (signals.maxUploadBytes); split it into batches`,
          { details: { limit: limits.maxUploadBytes, key: 'signals.maxUploadBytes' } },
        );
      }
      yield chunk;
    }
  } catch (error) {
    if (error instanceof StellaError) throw error;
    // The request stream failed: the client hung up or the connection broke mid-upload.
    throw new StellaError(
      Errors.malformedBody,
      `the upload ended before it was complete (${(error as Error).message}); nothing was stored`,
      { cause: error },
    );
  }
}

export async function readRuntimeStream(
  body: AsyncIterable<Uint8Array>,
  options: { gzip: boolean; limits: StreamLimits; spoolDir: string },
): Promise<SpooledBatch> {
  const { limits } = options;
  const spool = new Spool(options.spoolDir);
  const lines = new LineReader(limits);
  try {
    // Seed 000 uploads runtime-trace.ndjson.gz with only Content-Type set, so gzip is also recognised
    // by its magic bytes, not just by Content-Encoding.
    const sniffed = await sniffGzip(countedUpload(body, limits));
    const source: AsyncIterable<Uint8Array> =
      options.gzip || sniffed.gzip ? gunzip(sniffed.body, limits) : sniffed.body;
    for await (const chunk of source) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      lines.consume(buffer);
      await spool.write(buffer);
    }
    lines.finish();
    if (lines.aggregate.events === 0) throw refuse('runtime fact stream was empty');
    await spool.finish();
    return {
      aggregate: lines.aggregate,
      digest: `sha256:${lines.hash.digest('hex')}`,
      bytes: lines.decompressed,
      body: () => spool.body(),
      dispose: () => spool.dispose(),
    };
  } catch (error) {
    await spool.dispose();
    throw error;
  }
}

const BLANK_RE = /^[ \t\r]*$/;

/**
 * Blank or JSON whitespace only (a CRLF line's \r, padding): skipped without parsing. Latin-1 maps each
 * byte to one character, so the native regex scans the bytes; a per-byte loop here cost seconds for a
 * bomb of padded lines.
 */
function isBlank(line: Buffer): boolean {
  return BLANK_RE.test(line.toString('latin1'));
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
      try {
        yield head;
        for (;;) {
          const next = await iterator.next();
          if (next.done) return;
          yield next.value;
        }
      } finally {
        // Stopped early (a cap, a bad line): let the upload's iterator run its own clean-up.
        await iterator.return?.();
      }
    })(),
  };
}

function lineTooLong(line: number, max: number): StellaError {
  return new StellaError(Errors.bodyTooLarge, `line ${line} is longer than ${max} bytes (signals.maxLineBytes)`, {
    details: { limit: max, key: 'signals.maxLineBytes', line },
  });
}

function tooLargeDecompressed(limits: StreamLimits): StellaError {
  return new StellaError(
    Errors.bodyTooLarge,
    `runtime fact stream decompresses to more than ${limits.maxDecompressedBytes} bytes (${limits.decompressedKey}); split it`,
    { details: { limit: limits.maxDecompressedBytes, key: limits.decompressedKey } },
  );
}

const noop = () => {};

/**
 * Decompresses as a stream on zlib's thread pool, never synchronously: compressed chunks are fed as
 * they arrive and output is counted as it appears, so a bomb is refused after maxDecompressedBytes
 * of output rather than after inflating entirely. When the reader stops early (a cap, a bad line),
 * the inflater is destroyed and the feeding loop stops at its next step instead of reading the rest
 * of the upload. A truncated or corrupt stream is ERR_MALFORMED_BODY.
 */
async function* gunzip(source: AsyncIterable<Uint8Array>, limits: StreamLimits): AsyncGenerator<Buffer> {
  const inflater = createGunzip({ chunkSize: 64 * 1024 });
  // Errors reach the reader through its iterator; this listener only keeps a late one (after the
  // reader stopped) from being an unhandled 'error' event.
  inflater.on('error', noop);
  let stopped = false;
  let feedError: unknown;
  const feed = (async () => {
    const iterator = source[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done || stopped) break;
        if (!inflater.write(next.value)) {
          // 'close' too: a reader that stopped early destroys the inflater, which then never drains.
          await new Promise<void>((resolve) => {
            const done = () => {
              inflater.off('drain', done);
              inflater.off('close', done);
              resolve();
            };
            inflater.once('drain', done);
            inflater.once('close', done);
          });
        }
        if (stopped || inflater.destroyed) break;
      }
      if (!stopped && !inflater.destroyed) inflater.end();
    } catch (error) {
      // The upload failed (a cap, the client hung up): the reader rethrows it as it is.
      feedError = error;
      inflater.destroy(error as Error);
    } finally {
      await iterator.return?.()?.catch(noop);
    }
  })();
  let produced = 0;
  try {
    for await (const chunk of inflater) {
      produced += (chunk as Buffer).length;
      if (produced > limits.maxDecompressedBytes) throw tooLargeDecompressed(limits);
      yield chunk as Buffer;
    }
  } catch (error) {
    if (feedError !== undefined) throw feedError;
    if (error instanceof StellaError) throw error;
    throw new StellaError(Errors.malformedBody, `gzip body could not be decompressed: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    stopped = true;
    inflater.destroy();
    // Not awaited: the loop may be waiting for the client's next chunk. It ends at its next step and
    // never rejects.
    void feed;
  }
}
