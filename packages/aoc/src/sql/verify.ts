// SPDX-License-Identifier: Apache-2.0
// The reads `stella aoc verify` re-checks: stored rows with the hash of their bytes as stored now, the
// database's own forbidden-key check and the row each supersedes; forked chains; recorded ids gone.
import type { Queryable } from '@stella/platform';
import type { RawStore } from '../ingest/envelope.ts';
import { LISTED_ENVELOPE_JSON } from './raw.ts';

export interface VerifyRow {
  id: string;
  revision: number;
  source_vendor: string;
  upstream_id: string;
  content_hash: string;
  actual_hash: string;
  forbidden: string | null;
  supersedes: string | null;
  prev_id: string | null;
  prev_vendor: string | null;
  prev_upstream: string | null;
  prev_revision: number | null;
}

/** Rows ingested in [since, until), optionally of some sources only. */
export interface VerifyWindow {
  since: Date;
  until: Date;
  sources: readonly string[] | undefined;
}

/** Up to `limit` rows of the window in ingest order (one more to tell a truncated check). */
export async function rowsToVerify(
  tx: Queryable,
  store: RawStore,
  window: VerifyWindow,
  limit: number,
): Promise<VerifyRow[]> {
  const { rows } = await tx.query<VerifyRow>(
    `select r.id, r.revision, r.source_vendor, r.upstream_id, r.content_hash,
            'sha256:' || encode(sha256(convert_to(r.raw, 'UTF8')), 'hex') as actual_hash,
            aoc_envelope_violation(r.signature, r.identifiers, r.linkset, r.schema_validation) as forbidden,
            r.supersedes, p.id as prev_id, p.source_vendor as prev_vendor, p.upstream_id as prev_upstream,
            p.revision as prev_revision
       from ${store} r
       left join ${store} p on p.tenant = r.tenant and p.id = r.supersedes
      where r.ingested_at >= $1 and r.ingested_at < $2
        and ($3::text[] is null or r.source_vendor = any($3))
      order by r.ingested_at, r.id
      limit $4`,
    [window.since.toISOString(), window.until.toISOString(), window.sources?.length ? window.sources : null, limit],
  );
  return rows;
}

/**
 * Of the rows rowsToVerify reads (the same window, order and limit), those whose export frame
 * (migration 0006) does not say what their envelope columns say.
 */
export async function framesNotMatching(
  tx: Queryable,
  store: RawStore,
  window: VerifyWindow,
  limit: number,
): Promise<Array<{ id: string; source_vendor: string }>> {
  const { rows } = await tx.query<{ id: string; source_vendor: string }>(
    `select id, source_vendor from (
       select id, source_vendor, ingested_at,
              aoc_export_frame_mismatch(export_head, export_tail, (${LISTED_ENVELOPE_JSON})::jsonb) as mismatch
         from ${store}
        where ingested_at >= $1 and ingested_at < $2 and ($3::text[] is null or source_vendor = any($3))
        order by ingested_at, id
        limit $4) w
      where mismatch order by ingested_at, id`,
    [window.since.toISOString(), window.until.toISOString(), window.sources?.length ? window.sources : null, limit],
  );
  return rows;
}

/** Documents touched in the window that have more than one unsuperseded row. */
export async function forkedHeads(
  tx: Queryable,
  store: RawStore,
  window: VerifyWindow,
): Promise<Array<{ id: string; source_vendor: string; upstream_id: string; heads: number }>> {
  const { rows } = await tx.query<{ id: string; source_vendor: string; upstream_id: string; heads: number }>(
    `select min(r.id) as id, r.source_vendor, r.upstream_id, count(*)::int as heads
       from ${store} r
      where (r.source_vendor, r.upstream_id) in (
              select source_vendor, upstream_id from ${store}
               where ingested_at >= $1 and ingested_at < $2 and ($3::text[] is null or source_vendor = any($3)))
        and not exists (select 1 from ${store} n where n.tenant = r.tenant and n.supersedes = r.id)
      group by r.source_vendor, r.upstream_id
     having count(*) > 1`,
    [window.since.toISOString(), window.until.toISOString(), window.sources?.length ? window.sources : null],
  );
  return rows;
}

/** Of `ids`, those no longer stored, in id order. */
export async function missingIds(tx: Queryable, store: RawStore, ids: readonly string[]): Promise<string[]> {
  const { rows } = await tx.query<{ id: string }>(
    `select w.id from unnest($1::text[]) as w(id)
      where not exists (select 1 from ${store} r where r.id = w.id) order by w.id`,
    [ids],
  );
  return rows.map((r) => r.id);
}
