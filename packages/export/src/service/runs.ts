// SPDX-License-Identifier: Apache-2.0
// Runs: submission under the tenant quota (refused up front when no adapter can build the profile),
// paging, cancel, replay and the terminal transition with its event and timeline entry.
import { Errors, newUlid, StellaError } from '@stella/core';
import { decodeCursor, encodeCursor, type Queryable } from '@stella/platform';
import { adapterFor } from '../adapters/registry.ts';
import { ExportErrors } from '../errors.ts';
import { normalizeSelectors, type Selectors } from '../selectors.ts';
import { latestProfile, type ProfileRow, profileRevision } from '../sql/profiles.ts';
import {
  distributionsOf,
  type EventRow,
  eventsAfter,
  getRun,
  insertRun,
  listRuns as listRunRows,
  lockSubmissions,
  mirrorBase,
  queuedRunCount,
  type RunRow,
  type RunStatus,
  TERMINAL,
  updateRun,
} from '../sql/runs.ts';
import type { ServiceCore } from './core.ts';
import { type QuotaState, quotaHeaders, quotaState } from './quota.ts';
import { checkSubmission, findingsSnapshotLookup } from './submission.ts';
import { iso, type RunView, runView } from './views.ts';

export const RUN_QUEUE = 'export.run';
// pg-boss runs higher priorities first: a catch-up run (a replay after an outage) overtakes the normal queue.
const CATCH_UP_PRIORITY = 10;
const DEFAULT_PAGE = 50;

export interface SubmitRequest {
  profileId: string;
  policySnapshotId?: string | undefined;
  /** mirror:delta: the export to build against; the tenant's newest succeeded mirror export when omitted. */
  baseExportId?: string | undefined;
  profileRevision?: number | undefined;
  selectors?: Record<string, unknown> | undefined;
  allowEmpty?: boolean | undefined;
  priority?: 'normal' | 'catch-up' | undefined;
  replayOf?: string | undefined;
}

export interface RunQuery {
  profile?: string | undefined;
  status?: RunStatus | undefined;
  since?: string | undefined;
  limit?: number | undefined;
  /** nextCursor of the previous page. */
  cursor?: string | undefined;
}

/** The profile revision to run, once it exists and is not archived (unless replayed). */
async function runnableProfile(core: ServiceCore, q: Queryable, request: SubmitRequest): Promise<ProfileRow> {
  const profile = request.profileRevision
    ? await profileRevision(q, request.profileId, request.profileRevision)
    : await latestProfile(q, request.profileId);
  if (!profile) throw core.notFound(`export profile ${request.profileId}`);
  if (profile.archived_at && !request.replayOf) {
    throw new StellaError(ExportErrors.conflict, `profile ${profile.name} is archived; clone it to run it again`);
  }
  return profile;
}

function refuseOverQuota(tenant: string, quota: QuotaState): void {
  if (quota.remaining > 0) return;
  throw new StellaError(
    ExportErrors.quota,
    quota.limit === 0
      ? `export submissions are paused for tenant ${tenant} (quota 0)`
      : `tenant ${tenant} used its ${quota.limit} export runs for today`,
    { headers: quotaHeaders(quota), details: { limit: quota.limit, remaining: 0, reset: quota.reset } },
  );
}

/** Queued runs are waiting for a worker: one too many means workers are down or far behind. */
const QUEUE_RETRY_AFTER_SECONDS = 60;

async function refuseOverQueueDepth(core: ServiceCore, q: Queryable, tenant: string): Promise<void> {
  const limit = core.deps.maxQueuedRuns;
  if (limit === undefined) return;
  const queued = await queuedRunCount(q);
  if (queued < limit) return;
  throw new StellaError(
    ExportErrors.concurrency,
    `tenant ${tenant} has ${queued} export runs queued, the most export.maxQueuedRuns allows (${limit}); wait for workers to take them or cancel some`,
    { headers: { 'retry-after': String(QUEUE_RETRY_AFTER_SECONDS) }, details: { queued, limit } },
  );
}

/** Inserts the queued run with its first event and timeline entry, in the submission's transaction. */
async function insertQueuedRun(
  core: ServiceCore,
  q: Queryable,
  run: {
    tenant: string;
    runId: string;
    profile: ProfileRow;
    selectors: Selectors;
    policySnapshotId: string | null;
    baseExportId: string | null;
    actor: string | null;
  },
  request: SubmitRequest,
  traceId: string | undefined,
): Promise<RunRow> {
  const { tenant, runId, profile } = run;
  const inserted = await insertRun(q, {
    tenant,
    run_id: runId,
    profile_name: profile.name,
    profile_revision: profile.revision,
    profile_kind: `${profile.kind}:${profile.variant}`,
    selectors: run.selectors as unknown as Record<string, unknown>,
    allow_empty: request.allowEmpty ?? false,
    priority: request.priority ?? 'normal',
    replay_of: request.replayOf ?? null,
    policy_snapshot_id: run.policySnapshotId,
    base_export_id: run.baseExportId,
    created_by: run.actor,
    trace_id: traceId ?? null,
  });
  await core.emit(q, tenant, runId, 'queued', {
    runId,
    status: 'queued',
    progress: inserted.progress,
    ts: iso(inserted.created_at),
  });
  await core.deps.timeline.append(q, tenant, {
    category: 'export',
    kind: 'export.run.queued',
    details: {
      runId,
      profileId: profile.name,
      revision: `r${profile.revision}`,
      priority: inserted.priority,
      ...(run.policySnapshotId ? { policySnapshotId: run.policySnapshotId } : {}),
      ...(run.baseExportId ? { baseExportId: run.baseExportId } : {}),
      ...(request.replayOf ? { replayOf: request.replayOf } : {}),
    },
    traceId,
  });
  return inserted;
}

/** Hands the committed run to the workers; if the queue refuses it, the run fails rather than waiting forever. */
async function enqueue(core: ServiceCore, row: RunRow): Promise<void> {
  const { queue } = core.deps;
  try {
    await queue.send(
      RUN_QUEUE,
      { tenant: row.tenant, runId: row.run_id },
      { key: row.tenant, ...(row.priority === 'catch-up' ? { priority: CATCH_UP_PRIORITY } : {}) },
    );
    queue.wake(RUN_QUEUE);
  } catch (error) {
    await finish(core, row.tenant, row.run_id, 'failed', {
      errorCode: Errors.internal.code,
      errors: [{ code: Errors.internal.code, message: 'the run could not be queued; submit it again' }],
    });
    throw error;
  }
}

/**
 * The base of a mirror:delta run: the given export id, which must be a succeeded mirror export of the
 * tenant whose bundle is still stored, or the tenant's newest such export; none is ERR_EXPORT_BASE_MISSING
 * (the runbook's remedy: run mirror:full). Other kinds take no base.
 */
async function resolveBase(
  core: ServiceCore,
  tenant: string,
  profile: ProfileRow,
  requested: string | undefined,
): Promise<string | null> {
  if (!adapterFor(`${profile.kind}:${profile.variant}`).needsBase) {
    if (requested) throw new StellaError(ExportErrors.validation, `baseExportId applies to mirror:delta runs only`);
    return null;
  }
  const base = await core.tx(tenant, (q) => mirrorBase(q, requested));
  if (base) return base;
  throw new StellaError(
    ExportErrors.baseMissing,
    requested
      ? `base export ${requested} is not a stored mirror export of tenant ${tenant}; run mirror:full and build deltas on it`
      : `tenant ${tenant} has no stored mirror export to build a delta on; run mirror:full first`,
  );
}

/**
 * Checks the profile, then the policy snapshot through the findings room's door (outside any
 * transaction: on PGlite a nested one would wait forever), then queues the run under the quota with
 * the profile revision checked first, so a profile updated meanwhile does not change what runs.
 */
async function submit(
  core: ServiceCore,
  tenant: string,
  request: SubmitRequest,
  actor: string | null,
  traceId?: string,
): Promise<{ run: RunView; quota: QuotaState }> {
  const selectors = normalizeSelectors(request.selectors ?? {}, tenant, core.deps.clock.now());
  const runId = `run-${newUlid().toLowerCase()}`;
  const profile = await core.tx(tenant, (q) => runnableProfile(core, q, request));
  const policySnapshotId = await checkSubmission(
    profile.document,
    selectors,
    request.policySnapshotId,
    findingsSnapshotLookup(core.deps.db, tenant),
  );
  const baseExportId = await resolveBase(core, tenant, profile, request.baseExportId);
  const { row, quota } = await core.tx(tenant, async (q) => {
    await lockSubmissions(q, tenant);
    const before = await quotaState(core, q, tenant);
    refuseOverQuota(tenant, before);
    await refuseOverQueueDepth(core, q, tenant);
    const queued = { tenant, runId, profile, selectors, policySnapshotId, baseExportId, actor };
    const inserted = await insertQueuedRun(core, q, queued, request, traceId);
    return { row: inserted, quota: { ...before, remaining: before.remaining - 1 } };
  });
  await enqueue(core, row);
  return { run: runView(row), quota };
}

async function getRunView(core: ServiceCore, tenant: string, runId: string): Promise<RunView> {
  return core.tx(tenant, async (q) => {
    const row = await getRun(q, runId);
    if (!row) throw core.notFound(`export run ${runId}`);
    return runView(row, await distributionsOf(q, runId));
  });
}

/** The stored row, for the worker and the download routes. */
async function runRow(core: ServiceCore, tenant: string, runId: string): Promise<RunRow> {
  const row = await core.tx(tenant, (q) => getRun(q, runId));
  if (!row) throw core.notFound(`export run ${runId}`);
  return row;
}

/** Newest first, keyset-paged: nextCursor is set when the page is full. */
async function listRuns(
  core: ServiceCore,
  tenant: string,
  query: RunQuery,
): Promise<{ items: RunView[]; nextCursor: string | null }> {
  const limit = query.limit ?? DEFAULT_PAGE;
  const filter = {
    profile: query.profile,
    status: query.status,
    since: query.since,
    after: decodeCursor(query.cursor, ExportErrors.validation),
    limit,
  };
  const items = (await core.tx(tenant, (q) => listRunRows(q, filter))).map((r) => runView(r));
  const last = items.at(-1);
  return { items, nextCursor: items.length === limit && last ? encodeCursor(last.createdAt, last.runId) : null };
}

async function cancel(core: ServiceCore, tenant: string, runId: string): Promise<RunView> {
  const { clock, timeline } = core.deps;
  const row = await core.tx(tenant, async (q) => {
    const run = await getRun(q, runId, true);
    if (!run) throw core.notFound(`export run ${runId}`);
    if (TERMINAL.has(run.status)) {
      throw new StellaError(
        ExportErrors.conflict,
        `run ${runId} is already ${run.status}; only queued or running runs can be cancelled`,
      );
    }
    const updated = await updateRun(q, runId, { status: 'cancelled', completed_at: clock.now() });
    await core.emit(q, tenant, runId, 'cancelled', {
      runId,
      status: 'cancelled',
      progress: updated.progress,
      ts: clock.now().toISOString(),
    });
    await timeline.append(q, tenant, { category: 'export', kind: 'export.run.cancelled', details: { runId } });
    return updated;
  });
  return runView(row);
}

/** Resubmits with the original profile revision, stored (absolute) selectors and policy snapshot, at catch-up priority. */
async function replay(core: ServiceCore, tenant: string, runId: string, actor: string | null, traceId?: string) {
  const original = await runRow(core, tenant, runId);
  return submit(
    core,
    tenant,
    {
      profileId: original.profile_name,
      profileRevision: original.profile_revision,
      selectors: original.selectors,
      allowEmpty: original.allow_empty,
      policySnapshotId: original.policy_snapshot_id ?? undefined,
      baseExportId: original.base_export_id ?? undefined,
      priority: 'catch-up',
      replayOf: runId,
    },
    actor,
    traceId,
  );
}

function events(core: ServiceCore, tenant: string, runId: string, afterSeq: number): Promise<EventRow[]> {
  return core.tx(tenant, (q) => eventsAfter(q, runId, afterSeq));
}

/** Moves a run to a terminal state with its event and timeline entry (no-op if already terminal). */
async function finish(
  core: ServiceCore,
  tenant: string,
  runId: string,
  status: 'succeeded' | 'failed',
  outcome: { errorCode?: string; errors?: { code: string; message: string }[]; set?: Partial<RunRow> },
): Promise<RunRow | undefined> {
  const { clock, timeline } = core.deps;
  return core.tx(tenant, async (q) => {
    const run = await getRun(q, runId, true);
    if (!run || TERMINAL.has(run.status)) return undefined;
    const progress = status === 'succeeded' ? { ...run.progress, percent: 100 } : run.progress;
    const updated = await updateRun(q, runId, {
      ...outcome.set,
      status,
      progress,
      error_code: outcome.errorCode ?? null,
      errors: outcome.errors ?? [],
      completed_at: clock.now(),
    });
    const ts = clock.now().toISOString();
    const data =
      status === 'succeeded'
        ? { runId, status, progress, ts, exportId: updated.export_id, digest: updated.bundle_digest }
        : { runId, status, progress, ts, errorCode: updated.error_code, errors: updated.errors };
    await core.emit(q, tenant, runId, status === 'succeeded' ? 'completed' : 'failed', data);
    await timeline.append(q, tenant, {
      category: 'export',
      kind: `export.run.${status}`,
      details:
        status === 'succeeded'
          ? { runId, exportId: updated.export_id, bundleDigest: updated.bundle_digest, records: updated.records }
          : { runId, errorCode: updated.error_code },
      traceId: run.trace_id ?? undefined,
    });
    // The audit event the mirror runbook names (spec §2.5), beside the generic one.
    if (status === 'succeeded' && run.profile_kind.startsWith('mirror:')) {
      await timeline.append(q, tenant, {
        category: 'export',
        kind: 'mirror.bundle.created',
        details: {
          runId,
          exportId: updated.export_id,
          mode: run.profile_kind.slice('mirror:'.length),
          baseExportId: run.base_export_id,
          bundleDigest: updated.bundle_digest,
        },
        traceId: run.trace_id ?? undefined,
      });
    }
    return updated;
  });
}

/** The run half of the service; each takes the service core first (see bindCore). */
export const runOperations = {
  submit,
  getRun: getRunView,
  runRow,
  listRuns,
  cancel,
  replay,
  events,
  finish,
};
