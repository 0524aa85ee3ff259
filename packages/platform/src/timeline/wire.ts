// The timeline's wire shape follows the spec's event (snake_case: event_id, timestamp, trace_id).
import Type from 'typebox';
import type { TimelineEvent } from './chain.ts';

export const TimelineEventSchema = Type.Object(
  {
    event_id: Type.String({ description: 'ULID' }),
    tenant: Type.String(),
    seq: Type.Integer({ description: 'Position in the tenant chain, from 1' }),
    timestamp: Type.String({ format: 'date-time' }),
    category: Type.String(),
    kind: Type.String(),
    details: Type.Record(Type.String(), Type.Unknown()),
    trace_id: Type.Union([Type.String(), Type.Null()]),
    prev_hash: Type.String(),
    hash: Type.String({ description: 'sha256 over the canonical event and prev_hash' }),
  },
  { $id: 'TimelineEvent' },
);

export interface WireEvent {
  event_id: string;
  tenant: string;
  seq: number;
  timestamp: string;
  category: string;
  kind: string;
  details: Record<string, unknown>;
  trace_id: string | null;
  prev_hash: string;
  hash: string;
}

export function toWire(e: TimelineEvent): WireEvent {
  return {
    event_id: e.eventId,
    tenant: e.tenant,
    seq: e.seq,
    timestamp: e.occurredAt,
    category: e.category,
    kind: e.kind,
    details: e.details,
    trace_id: e.traceId,
    prev_hash: e.prevHash,
    hash: e.hash,
  };
}

export function fromWire(w: WireEvent): TimelineEvent {
  return {
    eventId: w.event_id,
    tenant: w.tenant,
    seq: w.seq,
    occurredAt: w.timestamp,
    category: w.category,
    kind: w.kind,
    details: w.details,
    traceId: w.trace_id,
    prevHash: w.prev_hash,
    hash: w.hash,
  };
}
