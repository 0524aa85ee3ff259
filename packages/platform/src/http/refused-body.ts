import type { IncomingMessage } from 'node:http';

/**
 * After a request body is refused part-way (over a cap, malformed, a bad gzip stream), the rest of it
 * is read and dropped, up to this much and this long, so a client that is still sending reads the
 * answer instead of a reset connection, and the connection stays usable for its next request. A client
 * that sends more than this after its refusal, or for longer, has its connection closed.
 */
export const DRAIN_AFTER_REFUSAL_BYTES = 16 * 1024 * 1024;
export const DRAIN_AFTER_REFUSAL_MS = 30_000;

/**
 * Reads and drops what is left of a refused request body (bounded as above). A request already read to
 * the end is left alone. Returns whether draining started, that is whether the body was unfinished.
 */
export function drainRefusedBody(raw: IncomingMessage): boolean {
  if (raw.complete || raw.destroyed || raw.readableEnded) return false;
  let left = DRAIN_AFTER_REFUSAL_BYTES;
  const timer = setTimeout(() => raw.destroy(), DRAIN_AFTER_REFUSAL_MS);
  timer.unref();
  raw.on('data', (chunk: Buffer) => {
    left -= chunk.length;
    if (left < 0) raw.destroy();
  });
  raw.once('close', () => clearTimeout(timer));
  raw.resume();
  return true;
}
