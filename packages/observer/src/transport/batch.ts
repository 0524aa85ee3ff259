// SPDX-License-Identifier: Apache-2.0
// A batch as it goes on the wire: events sorted by observedAt (ties by symbolId) so the same events
// always make the same bytes (seed 001 determinism), one canonical-JSON object per line, gzip at level
// 6 once the NDJSON is larger than 64 KiB (seed 001's threshold; smaller bodies gain little).
import { gzipSync } from 'node:zlib';
import { canonicalJson } from '@stella/core';

/** A runtime event as the symbol mapper hands it over (seed 001 shape). */
export interface RuntimeEvent {
  symbolId: string;
  hitCount: number;
  /** ISO-8601 UTC. */
  observedAt: string;
  purl?: string;
  codeId?: string;
  processId?: number;
  containerId?: string;
  metadata?: Record<string, string>;
}

export const GZIP_THRESHOLD_BYTES = 64 * 1024;
/** Seed 001: a fixed level, so a batch compresses to the same bytes on every retry. */
export const GZIP_LEVEL = 6;

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Orders a batch by observedAt, then symbolId; a stable sort keeps equal events in arrival order. */
export function sortEvents(events: readonly RuntimeEvent[]): RuntimeEvent[] {
  return [...events].sort((a, b) => compare(a.observedAt, b.observedAt) || compare(a.symbolId, b.symbolId));
}

/** The NDJSON of a sorted batch: canonical JSON (sorted keys), one event per line. */
export function toNdjson(events: readonly RuntimeEvent[]): Buffer {
  let text = '';
  for (const event of events) text += `${canonicalJson(event)}\n`;
  return Buffer.from(text, 'utf8');
}

/** The body to send for an NDJSON batch: gzip above the threshold, the NDJSON itself below it. */
export function encodeBody(ndjson: Buffer): { body: Buffer; gzip: boolean } {
  if (ndjson.length <= GZIP_THRESHOLD_BYTES) return { body: ndjson, gzip: false };
  return { body: gzipSync(ndjson, { level: GZIP_LEVEL }), gzip: true };
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/**
 * Checks an event before it is buffered, so one malformed event cannot get a whole batch refused by
 * the server; returns the event with only the known members (no stray host data on the wire).
 */
export function checkEvent(value: unknown): RuntimeEvent | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const e = value as Record<string, unknown>;
  if (typeof e.symbolId !== 'string' || e.symbolId === '' || e.symbolId.length > 4096) return undefined;
  if (typeof e.hitCount !== 'number' || !Number.isSafeInteger(e.hitCount) || e.hitCount < 0) return undefined;
  if (typeof e.observedAt !== 'string' || !ISO_UTC.test(e.observedAt)) return undefined;
  const event: RuntimeEvent = { symbolId: e.symbolId, hitCount: e.hitCount, observedAt: e.observedAt };
  if (typeof e.purl === 'string') event.purl = e.purl;
  if (typeof e.codeId === 'string') event.codeId = e.codeId;
  if (typeof e.processId === 'number' && Number.isSafeInteger(e.processId)) event.processId = e.processId;
  if (typeof e.containerId === 'string') event.containerId = e.containerId;
  if (typeof e.metadata === 'object' && e.metadata !== null && !Array.isArray(e.metadata)) {
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(e.metadata)) if (typeof v === 'string') metadata[k] = v;
    event.metadata = metadata;
  }
  return event;
}
