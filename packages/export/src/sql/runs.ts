// SPDX-License-Identifier: Apache-2.0
// export_runs, export_events, export_distributions, export_quotas and export_tenants.
import type { Queryable } from '@stella/platform';

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'expired';
export const TERMINAL: ReadonlySet<RunStatus> = new Set(['succeeded', 'failed', 'cancelled', 'expired']);

export interface Progress {
  percent: number;
  itemsCompleted: number;
  itemsTotal: number;
}

export interface RunRow {
  tenant: string;
  run_id: string;
  profile_name: string;
  profile_revision: number;
  profile_kind: string;
  selectors: Record<string, unknown>;
  allow_empty: boolean;
  priority: 'normal' | 'catch-up';
  status: RunStatus;
  progress: Progress;
  error_code: string | null;
  errors: { code: string; message: string }[];
  attempts: number;
  export_id: string | null;
  bundle_uri: string | null;
  bundle_digest: string | null;
  bundle_bytes: string | number | null;
  bundle_media_type: string | null;
  bundle_file_name: string | null;
  tar_digest: string | null;
  manifest_uri: string | null;
  manifest_digest: string | null;
  provenance_uri: string | null;
  records: number | null;
  replay_of: string | null;
  /** The findings room's policy snapshot the run was submitted with, when its profile takes one. */
  policy_snapshot_id: string | null;
  /** The export a mirror:delta run is built against. */
  base_export_id: string | null;
  created_by: string | null;
  trace_id: string | null;
  created_at: Date | string;
  started_at: Date | string | null;
  completed_at: Date | string | null;
  expired_at: Date | string | null;
}

export interface DistributionRow {
  driver: string;
  status: 'succeeded' | 'failed';
  target: string | null;
  digest: string | null;
  seconds: number | null;
  error: string | null;
}

export interface EventRow {
  seq: number;
  type: string;
  data: Record<string, unknown>;
  created_at: Date | string;
}

export async function insertRun(
  tx: Queryable,
  run: Pick<
    RunRow,
    | 'tenant'
    | 'run_id'
    | 'profile_name'
    | 'profile_revision'
    | 'profile_kind'
    | 'selectors'
    | 'allow_empty'
    | 'priority'
    | 'replay_of'
    | 'policy_snapshot_id'
    | 'base_export_id'
    | 'created_by'
    | 'trace_id'
  >,
): Promise<RunRow> {
  const { rows } = await tx.query<RunRow>(
    `insert into export_runs (tenant, run_id, profile_name, profile_revision, profile_kind, selectors, allow_empty,
       priority, status, replay_of, policy_snapshot_id, base_export_id, created_by, trace_id)
     values ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', $9, $10, $11, $12, $13) returning *`,
    [
      run.tenant,
      run.run_id,
      run.profile_name,
      run.profile_revision,
      run.profile_kind,
      JSON.stringify(run.selectors),
      run.allow_empty,
      run.priority,
      run.replay_of,
      run.policy_snapshot_id,
      run.base_export_id,
      run.created_by,
      run.trace_id,
    ],
  );
  await tx.query('insert into export_tenants (tenant) values ($1) on conflict do nothing', [run.tenant]);
  return rows[0]!;
}

/**
 * A succeeded mirror export of the tenant whose bundle is still stored: `exportId` when given, else the
 * newest. The export id, or undefined when there is none.
 */
export async function mirrorBase(tx: Queryable, exportId: string | undefined): Promise<string | undefined> {
  const { rows } = await tx.query<{ export_id: string }>(
    `select export_id from export_runs
      where status = 'succeeded' and profile_kind in ('mirror:full', 'mirror:delta') and bundle_uri is not null
        and expired_at is null and ($1::text is null or export_id = $1)
      order by completed_at desc, run_id desc limit 1`,
    [exportId ?? null],
  );
  return rows[0]?.export_id;
}

/** The succeeded run that produced `exportId` (the newest, as replays share ids). */
export async function runByExportId(tx: Queryable, exportId: string): Promise<RunRow | undefined> {
  const { rows } = await tx.query<RunRow>(
    `select * from export_runs where export_id = $1 and status = 'succeeded' order by completed_at desc limit 1`,
    [exportId],
  );
  return rows[0];
}

export async function getRun(tx: Queryable, runId: string, lock = false): Promise<RunRow | undefined> {
  const { rows } = await tx.query<RunRow>(`select * from export_runs where run_id = $1${lock ? ' for update' : ''}`, [
    runId,
  ]);
  return rows[0];
}

export async function runStatus(tx: Queryable, runId: string): Promise<RunStatus | undefined> {
  const { rows } = await tx.query<{ status: RunStatus }>('select status from export_runs where run_id = $1', [runId]);
  return rows[0]?.status;
}

/** Sets the given columns (names are code constants, never input) of a run. */
export async function updateRun(tx: Queryable, runId: string, set: Partial<RunRow>): Promise<RunRow> {
  const entries = Object.entries(set);
  const assignments = entries.map(([column], i) => `${column} = $${i + 2}`);
  const values = entries.map(([, v]) =>
    v !== null && typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(v) : v,
  );
  const { rows } = await tx.query<RunRow>(
    `update export_runs set ${assignments.join(', ')} where run_id = $1 returning *`,
    [runId, ...values],
  );
  return rows[0]!;
}

export interface RunFilter {
  profile?: string | undefined;
  status?: RunStatus | undefined;
  since?: string | undefined;
  /** Keyset: rows before this (created_at, run_id), from a page cursor. */
  after?: { time: string; id: string } | undefined;
  limit: number;
}

/** Newest first, keyset-paged on (created_at, run_id). */
export async function listRuns(tx: Queryable, filter: RunFilter): Promise<RunRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (clause: (p: string) => string, value: unknown) => {
    params.push(value);
    where.push(clause(`$${params.length}`));
  };
  if (filter.profile) add((p) => `profile_name = ${p}`, filter.profile);
  if (filter.status) add((p) => `status = ${p}`, filter.status);
  if (filter.since) add((p) => `created_at >= ${p}::timestamptz`, filter.since);
  if (filter.after) {
    params.push(filter.after.time, filter.after.id);
    where.push(`(created_at, run_id) < ($${params.length - 1}::timestamptz, $${params.length})`);
  }
  params.push(filter.limit);
  const { rows } = await tx.query<RunRow>(
    `select * from export_runs ${where.length ? `where ${where.join(' and ')}` : ''}
      order by created_at desc, run_id desc limit $${params.length}`,
    params,
  );
  return rows;
}

export async function appendEvent(
  tx: Queryable,
  tenant: string,
  runId: string,
  type: string,
  data: Record<string, unknown>,
): Promise<EventRow> {
  const { rows } = await tx.query<EventRow>(
    `insert into export_events (tenant, run_id, seq, type, data)
     select $1, $2, coalesce(max(seq), 0) + 1, $3, $4 from export_events where run_id = $2
     returning seq, type, data, created_at`,
    [tenant, runId, type, JSON.stringify(data)],
  );
  return rows[0]!;
}

export async function eventsAfter(tx: Queryable, runId: string, afterSeq: number, limit = 500): Promise<EventRow[]> {
  const { rows } = await tx.query<EventRow>(
    'select seq, type, data, created_at from export_events where run_id = $1 and seq > $2 order by seq limit $3',
    [runId, afterSeq, limit],
  );
  return rows;
}

export async function upsertDistribution(
  tx: Queryable,
  tenant: string,
  runId: string,
  row: DistributionRow,
): Promise<void> {
  await tx.query(
    `insert into export_distributions (tenant, run_id, driver, status, target, digest, seconds, error)
     values ($1, $2, $3, $4, $5, $6, $7, $8)
     on conflict (tenant, run_id, driver) do update set status = excluded.status, target = excluded.target,
       digest = excluded.digest, seconds = excluded.seconds, error = excluded.error, created_at = now()`,
    [tenant, runId, row.driver, row.status, row.target, row.digest, row.seconds, row.error],
  );
}

export async function distributionsOf(tx: Queryable, runId: string): Promise<DistributionRow[]> {
  const { rows } = await tx.query<DistributionRow>(
    'select driver, status, target, digest, seconds, error from export_distributions where run_id = $1 order by driver',
    [runId],
  );
  return rows;
}

export async function quotaOverride(tx: Queryable, tenant: string): Promise<number | undefined> {
  const { rows } = await tx.query<{ runs_per_day: number }>(
    'select runs_per_day from export_quotas where tenant = $1',
    [tenant],
  );
  return rows[0]?.runs_per_day;
}

export async function setQuota(tx: Queryable, tenant: string, runsPerDay: number, actor: string | null): Promise<void> {
  await tx.query(
    `insert into export_quotas (tenant, runs_per_day, updated_by) values ($1, $2, $3)
     on conflict (tenant) do update set runs_per_day = excluded.runs_per_day, updated_by = excluded.updated_by, updated_at = now()`,
    [tenant, runsPerDay, actor],
  );
  await tx.query('insert into export_tenants (tenant) values ($1) on conflict do nothing', [tenant]);
}

/**
 * Serialises a tenant's submissions: the quota and queue-depth checks count rows, and two
 * submissions counting at once would both pass at the limit.
 */
export async function lockSubmissions(tx: Queryable, tenant: string): Promise<void> {
  await tx.query(`select pg_advisory_xact_lock(hashtextextended('export:submit:' || $1, 0))`, [tenant]);
}

/** The tenant's runs waiting for a worker (RLS scopes the count). */
export async function queuedRunCount(tx: Queryable): Promise<number> {
  const { rows } = await tx.query<{ n: string | number }>(
    `select count(*) as n from export_runs where status = 'queued'`,
  );
  return Number(rows[0]?.n ?? 0);
}

export async function runsCreatedSince(tx: Queryable, since: Date): Promise<number> {
  const { rows } = await tx.query<{ n: string | number }>(
    'select count(*) as n from export_runs where created_at >= $1',
    [since.toISOString()],
  );
  return Number(rows[0]?.n ?? 0);
}

export async function knownTenants(tx: Queryable): Promise<string[]> {
  const { rows } = await tx.query<{ tenant: string }>('select tenant from export_tenants order by tenant');
  return rows.map((r) => r.tenant);
}

/** Succeeded runs of a profile that still hold artefacts, newest first (retention input). */
export async function retainedRuns(tx: Queryable): Promise<RunRow[]> {
  const { rows } = await tx.query<RunRow>(
    `select * from export_runs where status in ('succeeded', 'failed') and bundle_uri is not null
      order by profile_name, created_at desc, run_id desc`,
  );
  return rows;
}

/** The CAS objects the tenant's runs hold (Module.blobReferences). */
export async function runBlobUris(tx: Queryable): Promise<string[]> {
  const { rows } = await tx.query<{ uri: string }>(
    `select uri from export_runs, unnest(array[bundle_uri, manifest_uri, provenance_uri]) as uri where uri is not null`,
  );
  return rows.map((r) => r.uri);
}
