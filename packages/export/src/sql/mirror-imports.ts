// SPDX-License-Identifier: Apache-2.0
// mirror_imports: the mirror bundles this stella applied, in order (migration 0004).
import type { Queryable } from '@stella/platform';

export interface MirrorImportRow {
  seq: number;
  export_id: string;
  mode: 'full' | 'delta';
  base_export_id: string | null;
  manifest_digest: string;
  source_tenant: string;
  anchor_time: string;
  /** The TUF timestamp.json version of the bundle, when it carries TUF metadata. */
  tuf_timestamp_version: number | null;
  records_inserted: number;
  records_present: number;
  tombstones: number;
  imported_at: string;
}

const COLUMNS = `seq, export_id, mode, base_export_id, manifest_digest, source_tenant,
  to_char(anchor_time at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as anchor_time, tuf_timestamp_version,
  records_inserted, records_present, tombstones,
  to_char(imported_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as imported_at`;

/** Every applied bundle of the tenant, oldest first. */
export async function listMirrorImports(q: Queryable): Promise<MirrorImportRow[]> {
  const { rows } = await q.query<MirrorImportRow>(`select ${COLUMNS} from mirror_imports order by seq`);
  return rows;
}

/**
 * The newest applied bundle, read under a lock on the tenant's log, so two imports into one tenant run
 * one after the other and the second sees the first's row.
 */
export async function lastMirrorImport(q: Queryable, tenant: string): Promise<MirrorImportRow | undefined> {
  await q.query(`select pg_advisory_xact_lock(hashtext('mirror_imports:' || $1))`, [tenant]);
  const { rows } = await q.query<MirrorImportRow>(`select ${COLUMNS} from mirror_imports order by seq desc limit 1`);
  return rows[0];
}

export async function insertMirrorImport(
  q: Queryable,
  tenant: string,
  row: Omit<MirrorImportRow, 'seq'>,
): Promise<number> {
  const { rows } = await q.query<{ seq: number }>(
    `insert into mirror_imports (tenant, seq, export_id, mode, base_export_id, manifest_digest, source_tenant,
        anchor_time, tuf_timestamp_version, records_inserted, records_present, tombstones, imported_at)
     select $1, coalesce(max(seq), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 from mirror_imports
     returning seq`,
    [
      tenant,
      row.export_id,
      row.mode,
      row.base_export_id,
      row.manifest_digest,
      row.source_tenant,
      row.anchor_time,
      row.tuf_timestamp_version,
      row.records_inserted,
      row.records_present,
      row.tombstones,
      row.imported_at,
    ],
  );
  return rows[0]!.seq;
}
