// SQL for the timeline aggregate: events, chain heads and the outbox. Callers run these inside a
// transaction whose app.tenant is the event's tenant, so RLS applies.
import type { Queryable } from '../../db/index.ts';
import type { TimelineEvent } from '../chain.ts';

interface EventRow {
  tenant: string;
  seq: string | number;
  event_id: string;
  occurred_at: Date | string;
  category: string;
  kind: string;
  details: Record<string, unknown>;
  trace_id: string | null;
  prev_hash: string;
  hash: string;
}

const COLUMNS = 'tenant, seq, event_id, occurred_at, category, kind, details, trace_id, prev_hash, hash';

export function rowToEvent(row: EventRow): TimelineEvent {
  return {
    tenant: row.tenant,
    seq: Number(row.seq),
    eventId: row.event_id,
    occurredAt: new Date(row.occurred_at).toISOString(),
    category: row.category,
    kind: row.kind,
    details: row.details,
    traceId: row.trace_id,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

export async function lockHead(tx: Queryable, tenant: string, genesis: string): Promise<{ seq: number; hash: string }> {
  await tx.query('insert into timeline_heads (tenant, seq, hash) values ($1, 0, $2) on conflict (tenant) do nothing', [
    tenant,
    genesis,
  ]);
  const head = await tx.query<{ seq: string; hash: string }>(
    'select seq, hash from timeline_heads where tenant = $1 for update',
    [tenant],
  );
  const row = head.rows[0]!;
  return { seq: Number(row.seq), hash: row.hash };
}

export async function insertEvent(tx: Queryable, e: TimelineEvent): Promise<void> {
  await tx.query(`insert into timeline_events (${COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, [
    e.tenant,
    e.seq,
    e.eventId,
    e.occurredAt,
    e.category,
    e.kind,
    JSON.stringify(e.details),
    e.traceId,
    e.prevHash,
    e.hash,
  ]);
  await tx.query('update timeline_heads set seq = $2, hash = $3 where tenant = $1', [e.tenant, e.seq, e.hash]);
}

export interface EventFilter {
  category?: string;
  kind?: string;
  since?: string;
  until?: string;
  traceId?: string;
  afterSeq?: number;
  limit: number;
}

export async function selectEvents(tx: Queryable, tenant: string, f: EventFilter): Promise<TimelineEvent[]> {
  const where = ['tenant = $1'];
  const params: unknown[] = [tenant];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (f.category) add('category = ?', f.category);
  if (f.kind) add('kind = ?', f.kind);
  if (f.since) add('occurred_at >= ?', f.since);
  if (f.until) add('occurred_at < ?', f.until);
  if (f.traceId) add('trace_id = ?', f.traceId);
  if (f.afterSeq !== undefined) add('seq > ?', f.afterSeq);
  params.push(f.limit);
  const result = await tx.query<EventRow>(
    `select ${COLUMNS} from timeline_events where ${where.join(' and ')} order by seq limit $${params.length}`,
    params,
  );
  return result.rows.map(rowToEvent);
}

export async function selectEventById(
  tx: Queryable,
  tenant: string,
  eventId: string,
): Promise<TimelineEvent | undefined> {
  const result = await tx.query<EventRow>(
    `select ${COLUMNS} from timeline_events where tenant = $1 and event_id = $2`,
    [tenant, eventId],
  );
  return result.rows[0] ? rowToEvent(result.rows[0]) : undefined;
}

export async function insertOutbox(
  tx: Queryable,
  row: { tenant: string; id: string; topic: string; payload: unknown },
): Promise<void> {
  await tx.query('insert into outbox (tenant, id, topic, payload) values ($1, $2, $3, $4)', [
    row.tenant,
    row.id,
    row.topic,
    JSON.stringify(row.payload),
  ]);
}

/** Claims a batch of undelivered rows for a while, so handlers run outside any transaction. */
export async function claimPendingOutbox(tx: Queryable, limit: number, claimSeconds: number) {
  const result = await tx.query<{ tenant: string; id: string; topic: string; payload: unknown; attempts: number }>(
    `update outbox set claimed_until = now() + make_interval(secs => $2)
     where (tenant, id) in (
       select tenant, id from outbox
       where delivered_at is null and (claimed_until is null or claimed_until < now())
       order by created_at, id limit $1 for update skip locked)
     returning tenant, id, topic, payload, attempts`,
    [limit, claimSeconds],
  );
  return result.rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export async function markOutbox(
  tx: Queryable,
  row: { tenant: string; id: string },
  outcome: { delivered: true } | { delivered: false; error: string; retryAfterSeconds: number },
): Promise<void> {
  if (outcome.delivered) {
    await tx.query(
      'update outbox set delivered_at = now(), attempts = attempts + 1, claimed_until = null where tenant = $1 and id = $2',
      [row.tenant, row.id],
    );
  } else {
    await tx.query(
      `update outbox set attempts = attempts + 1, last_error = $3,
         claimed_until = now() + make_interval(secs => $4) where tenant = $1 and id = $2`,
      [row.tenant, row.id, outcome.error.slice(0, 2000), outcome.retryAfterSeconds],
    );
  }
}
