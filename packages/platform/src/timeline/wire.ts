// The timeline's wire shape follows the spec's event (snake_case: event_id, timestamp, trace_id).
import type { DsseEnvelope } from '@stella/core';
import Type from 'typebox';
import type { TimelineEvent } from './chain.ts';
import { CHECKPOINT_PAYLOAD_TYPE, type TimelineCheckpoint } from './checkpoint.ts';

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

// A checkpoint on the wire: the row's fields in snake_case, and the DSSE envelope as signed.
export const TimelineCheckpointSchema = Type.Object(
  {
    checkpoint_id: Type.String({ description: 'ULID' }),
    tenant: Type.String(),
    seq: Type.Integer({ description: 'The chain head it signs: events 1..seq' }),
    head_hash: Type.String({ description: 'Hash of event seq' }),
    event_count: Type.Integer({ description: 'Events the head covers from genesis (= seq)' }),
    created_at: Type.String({ format: 'date-time' }),
    keyid: Type.String({ description: "The signing key (the tenant's `timeline` purpose)" }),
    envelope: Type.Object(
      {
        payloadType: Type.String({ description: CHECKPOINT_PAYLOAD_TYPE }),
        payload: Type.String({ description: 'base64 of the canonical JSON statement' }),
        signatures: Type.Array(Type.Object({ keyid: Type.String(), sig: Type.String() })),
      },
      { description: 'DSSE envelope; the signature is over PAE(payloadType, payload)' },
    ),
  },
  { $id: 'TimelineCheckpoint' },
);

export interface WireCheckpoint {
  checkpoint_id: string;
  tenant: string;
  seq: number;
  head_hash: string;
  event_count: number;
  created_at: string;
  keyid: string;
  envelope: DsseEnvelope;
}

export function checkpointToWire(c: TimelineCheckpoint): WireCheckpoint {
  return {
    checkpoint_id: c.checkpointId,
    tenant: c.tenant,
    seq: c.seq,
    head_hash: c.headHash,
    event_count: c.eventCount,
    created_at: c.createdAt,
    keyid: c.keyid,
    envelope: c.envelope,
  };
}

export function checkpointFromWire(w: WireCheckpoint): TimelineCheckpoint {
  return {
    checkpointId: w.checkpoint_id,
    tenant: w.tenant,
    seq: w.seq,
    headHash: w.head_hash,
    eventCount: w.event_count,
    createdAt: w.created_at,
    keyid: w.keyid,
    envelope: w.envelope,
  };
}
