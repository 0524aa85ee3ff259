// SQL for timeline checkpoints and retention. Callers run these inside a transaction whose app.tenant
// is the tenant, so row-level security applies; the two maintenance settings below are the exceptions.
import type { DsseEnvelope } from '@stella/core';
import type { Queryable } from '../../db/index.ts';
import type { TimelineCheckpoint } from '../checkpoint.ts';

interface CheckpointRow {
  tenant: string;
  seq: string | number;
  checkpoint_id: string;
  head_hash: string;
  event_count: string | number;
  created_at: Date | string;
  keyid: string;
  envelope: DsseEnvelope;
}

const COLUMNS = 'tenant, seq, checkpoint_id, head_hash, event_count, created_at, keyid, envelope';

function rowToCheckpoint(row: CheckpointRow): TimelineCheckpoint {
  return {
    tenant: row.tenant,
    seq: Number(row.seq),
    checkpointId: row.checkpoint_id,
    headHash: row.head_hash,
    eventCount: Number(row.event_count),
    createdAt: new Date(row.created_at).toISOString(),
    keyid: row.keyid,
    envelope: row.envelope,
  };
}

/** The committed head of the tenant's chain (seq 0 before its first event). */
export async function selectHead(tx: Queryable, tenant: string): Promise<{ seq: number; hash: string } | undefined> {
  const { rows } = await tx.query<{ seq: string; hash: string }>(
    'select seq, hash from timeline_heads where tenant = $1',
    [tenant],
  );
  return rows[0] ? { seq: Number(rows[0].seq), hash: rows[0].hash } : undefined;
}

/**
 * Tenants whose chain has events. timeline_heads admits every row to a read in a transaction that set
 * app.timeline_maintenance (migration 0005), and only to reads: the checkpoint and retention jobs
 * learn which tenants to visit, then work on each in a transaction of that tenant.
 */
export async function selectTenantsWithEvents(tx: Queryable): Promise<string[]> {
  await tx.query(`select set_config('app.timeline_maintenance', 'on', true)`);
  const { rows } = await tx.query<{ tenant: string }>(
    'select tenant from timeline_heads where seq > 0 order by tenant',
  );
  return rows.map((r) => r.tenant);
}

export async function selectNewestCheckpoint(
  tx: Queryable,
  tenant: string,
  createdBefore?: string,
): Promise<TimelineCheckpoint | undefined> {
  const { rows } = await tx.query<CheckpointRow>(
    `select ${COLUMNS} from timeline_checkpoints
      where tenant = $1 and ($2::timestamptz is null or created_at < $2::timestamptz)
      order by seq desc limit 1`,
    [tenant, createdBefore ?? null],
  );
  return rows[0] ? rowToCheckpoint(rows[0]) : undefined;
}

export async function selectCheckpoints(
  tx: Queryable,
  tenant: string,
  page: { afterSeq?: number | undefined; limit: number },
): Promise<TimelineCheckpoint[]> {
  const { rows } = await tx.query<CheckpointRow>(
    `select ${COLUMNS} from timeline_checkpoints where tenant = $1 and seq > $2 order by seq limit $3`,
    [tenant, page.afterSeq ?? 0, page.limit],
  );
  return rows.map(rowToCheckpoint);
}

/** False when a checkpoint at that seq exists already (another worker signed the same head). */
export async function insertCheckpoint(tx: Queryable, c: TimelineCheckpoint): Promise<boolean> {
  const result = await tx.query(
    `insert into timeline_checkpoints (${COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8)
     on conflict do nothing`,
    [c.tenant, c.seq, c.checkpointId, c.headHash, c.eventCount, c.createdAt, c.keyid, JSON.stringify(c.envelope)],
  );
  return result.rowCount === 1;
}

/**
 * Deletes the tenant's events up to and including `throughSeq`, and the checkpoints before it (they
 * cover only deleted events). The append-only triggers let these deletes through only with
 * app.timeline_prune set and only below a retained checkpoint, so a mistake here cannot open a gap
 * that nothing signed covers. Returns the rows deleted.
 */
export async function deleteThrough(
  tx: Queryable,
  tenant: string,
  throughSeq: number,
): Promise<{ events: number; checkpoints: number }> {
  await tx.query(`select set_config('app.timeline_prune', 'on', true)`);
  const events = await tx.query('delete from timeline_events where tenant = $1 and seq <= $2', [tenant, throughSeq]);
  const checkpoints = await tx.query('delete from timeline_checkpoints where tenant = $1 and seq < $2', [
    tenant,
    throughSeq,
  ]);
  await tx.query(`select set_config('app.timeline_prune', 'off', true)`);
  return { events: events.rowCount, checkpoints: checkpoints.rowCount };
}
