// The per-tenant hash chain: each event's hash covers its content and the previous event's hash, so
// altering, removing or reordering any event breaks every hash after it.
import { canonicalJson, type Sha256Digest, sha256Digest } from '@stella/core';

export const GENESIS_HASH: Sha256Digest = `sha256:${'0'.repeat(64)}`;

export interface TimelineEvent {
  tenant: string;
  seq: number;
  eventId: string;
  occurredAt: string;
  category: string;
  kind: string;
  details: Record<string, unknown>;
  traceId: string | null;
  prevHash: string;
  hash: string;
}

export function eventHash(event: Omit<TimelineEvent, 'hash'>): Sha256Digest {
  return sha256Digest(
    canonicalJson({
      category: event.category,
      details: event.details,
      eventId: event.eventId,
      kind: event.kind,
      occurredAt: event.occurredAt,
      prevHash: event.prevHash,
      seq: event.seq,
      tenant: event.tenant,
      traceId: event.traceId,
    }),
  );
}

export interface ChainVerdict {
  ok: boolean;
  checked: number;
  /** The first event that does not verify, with the reason. */
  brokenAt?: { seq: number; eventId: string; reason: string };
  head?: string;
}

/** Verifies a tenant's events in seq order, starting from the genesis hash (or a known earlier head). */
export function verifyChain(
  events: Iterable<TimelineEvent>,
  start: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH },
): ChainVerdict {
  const verifier = chainVerifier(start);
  for (const event of events) if (!verifier.push(event)) break;
  return verifier.verdict();
}

/**
 * The same check one event at a time, for events that arrive from a stream: `push` answers false at
 * the first event that does not verify, and the verdict then names it.
 */
export function chainVerifier(start: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH }): {
  push(event: TimelineEvent): boolean;
  verdict(): ChainVerdict;
} {
  let prev = start;
  let checked = 0;
  let broken: ChainVerdict['brokenAt'];
  return {
    push(event) {
      if (broken) return false;
      const reason =
        event.seq !== prev.seq + 1
          ? `sequence gap: expected ${prev.seq + 1}, found ${event.seq}`
          : event.prevHash !== prev.hash
            ? 'prevHash does not match the previous event'
            : eventHash(event) !== event.hash
              ? 'content does not match its hash (event altered)'
              : undefined;
      if (reason) {
        broken = { seq: event.seq, eventId: event.eventId, reason };
        return false;
      }
      prev = { seq: event.seq, hash: event.hash };
      checked++;
      return true;
    },
    verdict: () => (broken ? { ok: false, checked, brokenAt: broken } : { ok: true, checked, head: prev.hash }),
  };
}
