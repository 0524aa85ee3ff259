// SPDX-License-Identifier: Apache-2.0
// Bounded GETs for connectors: a per-attempt timeout, a few retries with exponential backoff on 5xx,
// 429 and network failures, and a byte cap enforced while the body streams (the connection is
// dropped as soon as it is exceeded). 404/410 mean "absent", which is how optional sidecars are probed.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import { sep } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ConnectorError } from './errors.ts';

export interface HttpSettings {
  /** Per attempt, headers and body together; long enough for a large feed on a slow mirror. */
  timeoutMs: number;
  /** Retries after the first attempt; bounded so an outage ends the run instead of hanging it. */
  retries: number;
  /** First backoff; doubles per retry (500 ms, 1 s, 2 s by default). */
  backoffMs: number;
}

export const DEFAULT_HTTP_SETTINGS: HttpSettings = { timeoutMs: 30_000, retries: 3, backoffMs: 500 };

export interface GetContext {
  fetch: typeof fetch;
  signal: AbortSignal | undefined;
  settings: HttpSettings;
  /**
   * Directory that `file:` URLs must stay inside. Unset means no `file:` URL is read at all, so a
   * remote provider-metadata.json or feed can never point the connector at local files.
   */
  fileRoot?: string;
}

type ChunkSink = (chunk: Uint8Array) => Promise<void> | void;

async function drain(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
  url: string,
  sink: ChunkSink,
): Promise<number> {
  const reader = body.getReader();
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return total;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel();
        throw new ConnectorError('ERR_CONNECTOR_TOO_LARGE', `${url}: response exceeds the cap of ${maxBytes} bytes`, {
          location: url,
        });
      }
      await sink(value);
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * Streams one URL into `sink`. Returns false when the resource is absent (404/410). Content-Encoding
 * gzip is undone by fetch itself, so the cap applies to the decoded bytes (a gzip bomb is cut off).
 */
export async function streamUrl(
  url: string,
  maxBytes: number,
  context: GetContext,
  sink: ChunkSink,
  reset: () => Promise<void> | void = () => {},
): Promise<boolean> {
  const { settings, signal } = context;
  for (let attempt = 0; ; attempt++) {
    const timeout = AbortSignal.timeout(settings.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let failure: string;
    try {
      const response = await context.fetch(url, { signal: combined, redirect: 'follow' });
      if (response.status === 404 || response.status === 410) {
        await response.body?.cancel();
        return false;
      }
      if (response.status >= 500 || response.status === 429 || response.status === 408) {
        await response.body?.cancel();
        failure = `HTTP ${response.status}`;
      } else if (!response.ok) {
        await response.body?.cancel();
        throw new ConnectorError('ERR_CONNECTOR_HTTP', `${url}: HTTP ${response.status} ${response.statusText}`, {
          location: url,
        });
      } else {
        const length = Number(response.headers.get('content-length') ?? Number.NaN);
        if (!response.headers.has('content-encoding') && length > maxBytes) {
          await response.body?.cancel();
          throw new ConnectorError(
            'ERR_CONNECTOR_TOO_LARGE',
            `${url}: Content-Length ${length} exceeds the cap of ${maxBytes} bytes`,
            { location: url },
          );
        }
        if (response.body) await drain(response.body, maxBytes, url, sink);
        return true;
      }
    } catch (err) {
      if (err instanceof ConnectorError) throw err;
      if (signal?.aborted) throw signal.reason;
      failure = timeout.aborted
        ? `timed out after ${settings.timeoutMs} ms`
        : `network error: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`;
    }
    if (attempt >= settings.retries)
      throw new ConnectorError('ERR_CONNECTOR_HTTP', `${url}: ${failure}; gave up after ${attempt + 1} attempts`, {
        location: url,
      });
    await reset();
    try {
      await delay(settings.backoffMs * 2 ** attempt, undefined, { signal });
    } catch (err) {
      throw signal?.aborted ? signal.reason : err;
    }
  }
}

/** GET into memory; null when absent. */
export async function getUrl(url: string, maxBytes: number, context: GetContext): Promise<Uint8Array | null> {
  let chunks: Uint8Array[] = [];
  const found = await streamUrl(
    url,
    maxBytes,
    context,
    (chunk) => {
      chunks.push(chunk);
    },
    () => {
      chunks = [];
    },
  );
  return found ? new Uint8Array(Buffer.concat(chunks)) : null;
}

/**
 * Reads at most `maxBytes` of a local file; a file over the cap (even one that grew after a stat) is
 * refused without being read whole. Synchronous on purpose: for the many small files of a directory
 * source, one blocking read of a few kilobytes costs far less than five thread-pool round trips.
 */
export function readFileCapped(path: string, maxBytes: number, location: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const buffer = Buffer.alloc(Math.min(size, maxBytes) + 1);
    let length = 0;
    for (;;) {
      const bytesRead = readSync(fd, buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buffer.length) break;
    }
    if (length > maxBytes || size > maxBytes)
      throw new ConnectorError(
        'ERR_CONNECTOR_TOO_LARGE',
        `${location}: ${Math.max(size, length)} bytes exceeds the cap of ${maxBytes} bytes`,
        { location },
      );
    return new Uint8Array(buffer.buffer, buffer.byteOffset, length);
  } finally {
    closeSync(fd);
  }
}

/** Reads a `file:` or `http(s):` URL; null when absent. Local files are size-checked before reading. */
export async function getResource(url: URL, maxBytes: number, context: GetContext): Promise<Uint8Array | null> {
  if (url.protocol === 'http:' || url.protocol === 'https:') return getUrl(url.href, maxBytes, context);
  if (url.protocol !== 'file:')
    throw new ConnectorError('ERR_CONNECTOR_INPUT', `${url.href}: only file:, http: and https: are fetched`);
  if (context.fileRoot === undefined)
    throw new ConnectorError('ERR_CONNECTOR_INPUT', `${url.href}: a remote listing may not point at local files`);
  const path = fileURLToPath(url);
  try {
    const real = await realpath(path);
    const root = await realpath(context.fileRoot);
    if (real !== root && !real.startsWith(root.endsWith(sep) ? root : root + sep))
      throw new ConnectorError('ERR_CONNECTOR_INPUT', `${path}: outside ${context.fileRoot}; not read`, {
        location: path,
      });
    const info = await stat(real);
    if (!info.isFile()) return null;
    return readFileCapped(real, maxBytes, path);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT' || (err as { code?: string }).code === 'ENOTDIR') return null;
    throw err;
  }
}

/** Downloads into a file (archives are too large for memory); false when absent. */
export async function downloadToFile(
  url: string,
  path: string,
  maxBytes: number,
  context: GetContext,
): Promise<boolean> {
  let handle = await open(path, 'w');
  try {
    return await streamUrl(
      url,
      maxBytes,
      context,
      async (chunk) => {
        await handle.write(chunk);
      },
      async () => {
        await handle.close();
        handle = await open(path, 'w');
      },
    );
  } finally {
    await handle.close();
  }
}
