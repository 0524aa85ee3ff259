// SPDX-License-Identifier: Apache-2.0
// Every SQL statement over policy snapshots and their activations (migrations/0002_policy_findings.sql).
import type { Queryable } from '@stella/platform';

export interface SnapshotRow {
  id: string;
  name: string;
  source: string;
  policy: Record<string, unknown>;
  envelope: Record<string, unknown>;
  signer_keyid: string;
  created_by: string;
  created_at: string;
}

export interface ActivationRow {
  seq: number;
  snapshot_id: string;
  activated_by: string;
  activated_at: string;
}

const time = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const SNAPSHOT_COLUMNS = `id, name, source, policy, envelope, signer_keyid, created_by, ${time('created_at')} as created_at`;

/** Inserts a snapshot; false when one with this id (the same canonical policy) exists. */
export async function insertSnapshot(tx: Queryable, tenant: string, row: SnapshotRow): Promise<boolean> {
  const { rowCount } = await tx.query(
    `insert into policy_snapshot (tenant, id, name, source, policy, envelope, signer_keyid, created_by, created_at)
     values ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9::timestamptz) on conflict (tenant, id) do nothing`,
    [
      tenant,
      row.id,
      row.name,
      row.source,
      JSON.stringify(row.policy),
      JSON.stringify(row.envelope),
      row.signer_keyid,
      row.created_by,
      row.created_at,
    ],
  );
  return rowCount === 1;
}

export async function selectSnapshot(tx: Queryable, id: string): Promise<SnapshotRow | undefined> {
  const { rows } = await tx.query<SnapshotRow>(`select ${SNAPSHOT_COLUMNS} from policy_snapshot where id = $1`, [id]);
  return rows[0];
}

/** Snapshots newest first, after the (created_at, id) cursor when given. */
export async function selectSnapshots(
  tx: Queryable,
  page: { before?: { time: string; id: string } | undefined; limit: number },
): Promise<SnapshotRow[]> {
  const { rows } = await tx.query<SnapshotRow>(
    `select ${SNAPSHOT_COLUMNS} from policy_snapshot
      where $1::timestamptz is null or (created_at, id) < ($1::timestamptz, $2::text)
      order by created_at desc, id desc limit $3`,
    [page.before?.time ?? null, page.before?.id ?? null, page.limit],
  );
  return rows;
}

/** Appends an activation (the tenant's next sequence number) under a lock on the tenant's history. */
export async function insertActivation(
  tx: Queryable,
  tenant: string,
  row: Omit<ActivationRow, 'seq'>,
): Promise<ActivationRow> {
  await tx.query(`select pg_advisory_xact_lock(hashtextextended('findings:policy:' || $1, 0))`, [tenant]);
  const { rows } = await tx.query<{ seq: string | number }>(
    `insert into policy_activation (tenant, seq, snapshot_id, activated_by, activated_at)
     select $1, coalesce(max(seq), 0) + 1, $2, $3, $4::timestamptz from policy_activation
     returning seq`,
    [tenant, row.snapshot_id, row.activated_by, row.activated_at],
  );
  return { ...row, seq: Number(rows[0]!.seq) };
}

export async function selectActiveSnapshot(
  tx: Queryable,
): Promise<(ActivationRow & { snapshot: SnapshotRow }) | undefined> {
  const { rows } = await tx.query<ActivationRow & { seq: string | number }>(
    `select seq, snapshot_id, activated_by, ${time('activated_at')} as activated_at
       from policy_activation order by seq desc limit 1`,
  );
  const active = rows[0];
  if (!active) return undefined;
  const snapshot = await selectSnapshot(tx, active.snapshot_id);
  return snapshot && { ...active, seq: Number(active.seq), snapshot };
}
