// Runtime fact events (spec §1.2, seed 001): validation of one event and aggregation of hits per
// symbol. Both the structured body and the NDJSON stream go through here, so the rules are one.
import { canonicalJson, StellaError } from '@stella/core';
import { SignalsErrors } from '../errors.ts';
import { assertStorableText } from '../text.ts';

export interface EventLimits {
  maxHitCount: number;
  maxFutureSkewSeconds: number;
  maxEvents: number;
  now: Date;
}

export interface SymbolAggregate {
  hits: number;
  firstSeen: string | undefined;
  lastSeen: string | undefined;
}

/** Hits per symbol for one batch; Map iteration order is irrelevant because rows are written sorted. */
export class RuntimeAggregate {
  readonly symbols = new Map<string, SymbolAggregate>();
  events = 0;

  add(symbolId: string, hits: number, observedAt: string | undefined): void {
    this.events++;
    const prior = this.symbols.get(symbolId);
    if (!prior) {
      this.symbols.set(symbolId, { hits, firstSeen: observedAt, lastSeen: observedAt });
      return;
    }
    prior.hits = Math.min(Number.MAX_SAFE_INTEGER, prior.hits + hits);
    if (observedAt) {
      if (!prior.firstSeen || observedAt < prior.firstSeen) prior.firstSeen = observedAt;
      if (!prior.lastSeen || observedAt > prior.lastSeen) prior.lastSeen = observedAt;
    }
  }

  sorted(): [string, SymbolAggregate][] {
    return [...this.symbols.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

export function refuse(message: string): StellaError {
  return new StellaError(SignalsErrors.runtimeInvalid, message);
}

/** Validates one event (already JSON-parsed) and adds it; `where` names it in errors ("line 3", "events[2]"). */
export function addEvent(aggregate: RuntimeAggregate, value: unknown, where: string, limits: EventLimits): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw refuse(`runtime fact on ${where} must be a JSON object`);
  }
  const event = value as Record<string, unknown>;
  const symbolId = event.symbolId;
  if (typeof symbolId !== 'string' || symbolId.trim() === '') {
    throw refuse(`runtime fact on ${where} is missing symbolId`);
  }
  if (symbolId.length > 4096) throw refuse(`runtime fact on ${where}: symbolId is longer than 4096 characters`);
  assertStorableText(symbolId, `runtime fact on ${where}: symbolId`);
  const hitCount = event.hitCount;
  if (hitCount === undefined || hitCount === null) throw refuse(`runtime fact on ${where} is missing hitCount`);
  if (typeof hitCount !== 'number' || !Number.isInteger(hitCount) || hitCount < 0 || hitCount > limits.maxHitCount) {
    throw refuse(
      `runtime fact on ${where}: hitCount must be an integer from 0 to ${limits.maxHitCount}, got ${JSON.stringify(hitCount)?.slice(0, 40)}`,
    );
  }
  let observedAt: string | undefined;
  if (event.observedAt !== undefined && event.observedAt !== null) {
    const ms = typeof event.observedAt === 'string' ? Date.parse(event.observedAt) : Number.NaN;
    if (!Number.isFinite(ms) || !/^\d{4}-\d{2}-\d{2}T/.test(String(event.observedAt))) {
      throw refuse(`runtime fact on ${where}: observedAt must be an ISO-8601 UTC timestamp`);
    }
    if (ms > limits.now.getTime() + limits.maxFutureSkewSeconds * 1000) {
      throw refuse(`runtime fact on ${where}: observedAt ${event.observedAt} lies in the future`);
    }
    observedAt = new Date(ms).toISOString();
  }
  if (
    event.metadata !== undefined &&
    (typeof event.metadata !== 'object' || event.metadata === null || Array.isArray(event.metadata))
  ) {
    throw refuse(`runtime fact on ${where}: metadata must be an object of strings`);
  }
  if (aggregate.events >= limits.maxEvents) {
    throw refuse(`runtime fact batch has more than ${limits.maxEvents} events (signals.maxEventsPerBatch); split it`);
  }
  aggregate.add(symbolId.normalize('NFC'), hitCount, observedAt);
}

/** A batch given as a list of events: the aggregate, and the CAS copy (the same events always have the same digest). */
export interface EventBatch {
  aggregate: RuntimeAggregate;
  /** The events as canonical NDJSON. */
  bytes: Buffer;
}

/** Validates and aggregates a list of events; `where(i)` names the i-th in errors. */
export function aggregateEvents(
  events: readonly unknown[],
  where: (index: number) => string,
  limits: EventLimits,
): EventBatch {
  const aggregate = new RuntimeAggregate();
  for (const [i, event] of events.entries()) addEvent(aggregate, event, where(i), limits);
  return { aggregate, bytes: Buffer.from(`${events.map((e) => canonicalJson(e)).join('\n')}\n`, 'utf8') };
}
