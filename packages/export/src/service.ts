// SPDX-License-Identifier: Apache-2.0
// The Export Center's service: profile revisions, run submission under the tenant quota, run state
// and the per-run event log behind the SSE stream. The worker (worker.ts) executes runs.
import { EventEmitter } from 'node:events';
import { type Clock, canonicalDigest, Errors, newUlid, StellaError } from '@stella/core';
import type { Db, JobQueue, Queryable, Timeline } from '@stella/platform';
import { ExportErrors } from './errors.ts';
import { type ExportProfile, PROFILE_API_VERSION, profileProblems } from './profiles/schema.ts';
import { normalizeSelectors, type Selectors } from './selectors.ts';
import {
  archiveProfile,
  insertProfile,
  latestProfile,
  listLatestProfiles,
  type ProfileRow,
  profileRevision,
} from './sql/profiles.ts';
import {
  appendEvent,
  distributionsOf,
  type EventRow,
  eventsAfter,
  getRun,
  insertRun,
  listRuns,
  quotaOverride,
  type RunFilter,
  type RunRow,
  type RunStatus,
  runsCreatedSince,
  setQuota,
  TERMINAL,
  updateRun,
} from './sql/runs.ts';

export const RUN_QUEUE = 'export.run';
/** Adapters this build has; profiles of other kinds can be stored but not run yet. */
export const SUPPORTED_KINDS: ReadonlySet<string> = new Set(['json:raw']);
const CATCH_UP_PRIORITY = 10;

export interface ProfileView {
  profileId: string;
  revision: string;
  kind: string;
  variant: string;
  archived: boolean;
  clonedFrom: string | null;
  createdAt: string;
  document: ExportProfile;
  documentDigest: string;
}

export interface RunView {
  runId: string;
  status: RunStatus;
  profileId: string;
  profileRevision: string;
  profileKind: string;
  selectors: Record<string, unknown>;
  allowEmpty: boolean;
  priority: 'normal' | 'catch-up';
  progress: { percent: number; itemsCompleted: number; itemsTotal: number };
  errorCode: string | null;
  errors: { code: string; message: string }[];
  attempts: number;
  exportId: string | null;
  bundle: { digest: string; bytes: number; mediaType: string; fileName: string; tarDigest: string | null } | null;
  manifestDigest: string | null;
  records: number | null;
  outputs: { driver: string; status: string; target: string | null; digest: string | null; error: string | null }[];
  replayOf: string | null;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  expiredAt: string | null;
}

export interface SubmitRequest {
  profileId: string;
  policySnapshotId?: string | undefined;
  profileRevision?: number | undefined;
  selectors?: Record<string, unknown> | undefined;
  allowEmpty?: boolean | undefined;
  priority?: 'normal' | 'catch-up' | undefined;
  replayOf?: string | undefined;
}

export interface QuotaState {
  limit: number;
  remaining: number;
  /** Unix seconds when the window resets (next UTC midnight). */
  reset: number;
}

export interface ExportServiceDeps {
  db: Db;
  queue: JobQueue;
  timeline: Timeline;
  clock: Clock;
  defaultRunsPerDay: number;
}

const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString());

/** Two revisions say the same when spec and labels match; name and revision bookkeeping aside. */
function sameContent(stored: ExportProfile, candidate: ExportProfile): boolean {
  return (
    canonicalDigest({ spec: stored.spec, labels: stored.metadata.labels ?? {} }) ===
    canonicalDigest({ spec: candidate.spec, labels: candidate.metadata.labels ?? {} })
  );
}

function profileView(row: ProfileRow): ProfileView {
  return {
    profileId: row.name,
    revision: `r${row.revision}`,
    kind: row.kind,
    variant: row.variant,
    archived: row.archived_at !== null,
    clonedFrom: row.cloned_from,
    createdAt: iso(row.created_at)!,
    document: row.document,
    documentDigest: row.document_digest,
  };
}

export type ExportService = ReturnType<typeof createExportService>;

export function createExportService(deps: ExportServiceDeps) {
  const { db, timeline, clock } = deps;
  /** Wakes SSE streams in this process when a run gets an event (other processes are polled). */
  const bus = new EventEmitter();
  bus.setMaxListeners(0);
  const tx = <T>(tenant: string, fn: (q: Queryable) => Promise<T>) => db.transaction(fn, { tenant });

  const notFound = (what: string) => new StellaError(ExportErrors.notFound, `${what} not found for this tenant`);

  function runView(row: RunRow, outputs: RunView['outputs'] = []): RunView {
    return {
      runId: row.run_id,
      status: row.status,
      profileId: row.profile_name,
      profileRevision: `r${row.profile_revision}`,
      profileKind: row.profile_kind,
      selectors: row.selectors,
      allowEmpty: row.allow_empty,
      priority: row.priority,
      progress: row.progress,
      errorCode: row.error_code,
      errors: row.errors,
      attempts: row.attempts,
      exportId: row.export_id,
      bundle:
        row.bundle_digest && row.bundle_uri
          ? {
              digest: row.bundle_digest,
              bytes: Number(row.bundle_bytes),
              mediaType: row.bundle_media_type ?? 'application/octet-stream',
              fileName: row.bundle_file_name ?? `${row.run_id}.tar`,
              tarDigest: row.tar_digest,
            }
          : null,
      manifestDigest: row.manifest_digest,
      records: row.records,
      outputs,
      replayOf: row.replay_of,
      createdAt: iso(row.created_at)!,
      startedAt: iso(row.started_at),
      completedAt: iso(row.completed_at),
      expiredAt: iso(row.expired_at),
    };
  }

  function checkProfile(doc: unknown, tenant: string, name?: string): ExportProfile {
    const problems = profileProblems(doc);
    const profile = doc as ExportProfile;
    if (problems.length === 0) {
      if (profile.metadata.tenant !== undefined && profile.metadata.tenant !== tenant) {
        problems.push({ pointer: '/metadata/tenant', message: `must be the caller's tenant ${tenant} or absent` });
      }
      if (name !== undefined && profile.metadata.name !== name) {
        problems.push({ pointer: '/metadata/name', message: `must be ${name}, the profile being updated` });
      }
    }
    if (problems.length > 0) {
      throw new StellaError(
        ExportErrors.validation,
        `invalid export profile: ${problems.map((p) => `${p.pointer}: ${p.message}`).join('; ')}`,
        { details: { errors: problems } },
      );
    }
    return profile;
  }

  async function storeRevision(
    q: Queryable,
    tenant: string,
    doc: ExportProfile,
    revision: number,
    actor: string | null,
    clonedFrom: string | null,
  ): Promise<ProfileRow> {
    const document: ExportProfile = {
      apiVersion: PROFILE_API_VERSION,
      kind: 'ExportProfile',
      metadata: { ...doc.metadata, tenant, revision: `r${revision}` },
      spec: doc.spec,
    };
    return insertProfile(q, {
      tenant,
      name: doc.metadata.name,
      revision,
      kind: doc.spec.kind,
      variant: doc.spec.variant,
      document,
      document_digest: canonicalDigest(document),
      cloned_from: clonedFrom,
      created_by: actor,
    });
  }

  async function quotaState(q: Queryable, tenant: string): Promise<QuotaState> {
    const now = clock.now();
    const dayStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    const limit = (await quotaOverride(q, tenant)) ?? deps.defaultRunsPerDay;
    const used = await runsCreatedSince(q, dayStart);
    return {
      limit,
      remaining: Math.max(0, limit - used),
      reset: Math.floor(dayStart.getTime() / 1000) + 86_400,
    };
  }

  async function emit(q: Queryable, tenant: string, runId: string, type: string, data: Record<string, unknown>) {
    const event = await appendEvent(q, tenant, runId, type, data);
    // Delivered after the caller's commit at the latest on the next poll; the nudge only saves a poll.
    queueMicrotask(() => bus.emit(runId));
    return event;
  }

  return {
    bus,

    // ---- profiles ----
    /** Creates r1; the same document again is a no-op answering the stored revision (`created: false`). */
    async createProfile(
      tenant: string,
      doc: unknown,
      actor: string | null,
    ): Promise<{ profile: ProfileView; created: boolean }> {
      const profile = checkProfile(doc, tenant);
      const { row, created } = await tx(tenant, async (q) => {
        const latest = await latestProfile(q, profile.metadata.name);
        if (latest) {
          if (!latest.archived_at && sameContent(latest.document, profile)) return { row: latest, created: false };
          throw new StellaError(
            ExportErrors.conflict,
            `profile ${profile.metadata.name} already exists with other content; update it (PUT) to make a new revision, or clone it`,
          );
        }
        const stored = await storeRevision(q, tenant, profile, 1, actor, null);
        await timeline.append(q, tenant, {
          category: 'export',
          kind: 'export.profile.created',
          details: { profileId: stored.name, revision: 'r1', digest: stored.document_digest },
        });
        return { row: stored, created: true };
      });
      return { profile: profileView(row), created };
    },

    async updateProfile(tenant: string, name: string, doc: unknown, actor: string | null) {
      const profile = checkProfile(doc, tenant, name);
      const { row, created } = await tx(tenant, async (q) => {
        const latest = await latestProfile(q, name);
        if (!latest) throw notFound(`export profile ${name}`);
        if (latest.archived_at) throw new StellaError(ExportErrors.conflict, `profile ${name} is archived`);
        if (sameContent(latest.document, profile)) return { row: latest, created: false };
        const stored = await storeRevision(q, tenant, profile, latest.revision + 1, actor, latest.cloned_from);
        await timeline.append(q, tenant, {
          category: 'export',
          kind: 'export.profile.updated',
          details: { profileId: name, revision: `r${stored.revision}`, digest: stored.document_digest },
        });
        return { row: stored, created: true };
      });
      return { profile: profileView(row), created };
    },

    async getProfile(tenant: string, name: string, revision?: number): Promise<ProfileView> {
      const row = await tx(tenant, (q) => (revision ? profileRevision(q, name, revision) : latestProfile(q, name)));
      if (!row) throw notFound(`export profile ${name}${revision ? ` revision r${revision}` : ''}`);
      return profileView(row);
    },

    async listProfiles(tenant: string, filter: { kind?: string; variant?: string; includeArchived?: boolean }) {
      const rows = await tx(tenant, (q) => listLatestProfiles(q, filter));
      return rows.map(profileView);
    },

    async cloneProfile(tenant: string, name: string, newName: string, actor: string | null): Promise<ProfileView> {
      const row = await tx(tenant, async (q) => {
        const source = await latestProfile(q, name);
        if (!source) throw notFound(`export profile ${name}`);
        const doc = { ...source.document, metadata: { ...source.document.metadata, name: newName } };
        delete doc.metadata.revision;
        checkProfile(doc, tenant);
        if (await latestProfile(q, newName)) {
          throw new StellaError(ExportErrors.conflict, `profile ${newName} already exists; pick another name`);
        }
        const stored = await storeRevision(q, tenant, doc, 1, actor, `${name}@r${source.revision}`);
        await timeline.append(q, tenant, {
          category: 'export',
          kind: 'export.profile.cloned',
          details: { profileId: newName, from: `${name}@r${source.revision}`, digest: stored.document_digest },
        });
        return stored;
      });
      return profileView(row);
    },

    async archiveProfile(tenant: string, name: string): Promise<ProfileView> {
      const row = await tx(tenant, async (q) => {
        const latest = await latestProfile(q, name);
        if (!latest) throw notFound(`export profile ${name}`);
        if ((await archiveProfile(q, name)) > 0) {
          await timeline.append(q, tenant, {
            category: 'export',
            kind: 'export.profile.archived',
            details: { profileId: name, revision: `r${latest.revision}` },
          });
        }
        return (await latestProfile(q, name))!;
      });
      return profileView(row);
    },

    // ---- quota ----
    quota: (tenant: string) => tx(tenant, (q) => quotaState(q, tenant)),

    async setQuota(tenant: string, runsPerDay: number, actor: string | null): Promise<QuotaState> {
      if (!Number.isInteger(runsPerDay) || runsPerDay < 0) {
        throw new StellaError(ExportErrors.validation, 'runsPerDay must be an integer ≥ 0 (0 pauses submissions)');
      }
      return tx(tenant, async (q) => {
        await setQuota(q, tenant, runsPerDay, actor);
        await timeline.append(q, tenant, {
          category: 'export',
          kind: 'export.quota.updated',
          details: { runsPerDay, by: actor },
        });
        return quotaState(q, tenant);
      });
    },

    // ---- runs ----
    async submit(
      tenant: string,
      request: SubmitRequest,
      actor: string | null,
      traceId?: string,
    ): Promise<{ run: RunView; quota: QuotaState }> {
      const selectors: Selectors = normalizeSelectors(request.selectors ?? {}, tenant, clock.now());
      const runId = `run-${newUlid().toLowerCase()}`;
      const { row, quota } = await tx(tenant, async (q) => {
        const profile = request.profileRevision
          ? await profileRevision(q, request.profileId, request.profileRevision)
          : await latestProfile(q, request.profileId);
        if (!profile) throw notFound(`export profile ${request.profileId}`);
        if (profile.archived_at && !request.replayOf) {
          throw new StellaError(ExportErrors.conflict, `profile ${profile.name} is archived; clone it to run it again`);
        }
        const kind = `${profile.kind}:${profile.variant}`;
        if (!SUPPORTED_KINDS.has(kind)) {
          throw new StellaError(
            ExportErrors.validation,
            `profile kind ${kind} has no adapter in this build (supported: ${[...SUPPORTED_KINDS].join(', ')})`,
          );
        }
        refuseUnbuildable(profile.document, request);
        const before = await quotaState(q, tenant);
        if (before.remaining <= 0) {
          throw new StellaError(
            ExportErrors.quota,
            before.limit === 0
              ? `export submissions are paused for tenant ${tenant} (quota 0)`
              : `tenant ${tenant} used its ${before.limit} export runs for today`,
            { headers: quotaHeaders(before), details: { limit: before.limit, remaining: 0, reset: before.reset } },
          );
        }
        const inserted = await insertRun(q, {
          tenant,
          run_id: runId,
          profile_name: profile.name,
          profile_revision: profile.revision,
          profile_kind: kind,
          selectors: selectors as unknown as Record<string, unknown>,
          allow_empty: request.allowEmpty ?? false,
          priority: request.priority ?? 'normal',
          replay_of: request.replayOf ?? null,
          created_by: actor,
          trace_id: traceId ?? null,
        });
        await emit(q, tenant, runId, 'queued', {
          runId,
          status: 'queued',
          progress: inserted.progress,
          ts: iso(inserted.created_at),
        });
        await timeline.append(q, tenant, {
          category: 'export',
          kind: 'export.run.queued',
          details: {
            runId,
            profileId: profile.name,
            revision: `r${profile.revision}`,
            priority: inserted.priority,
            ...(request.replayOf ? { replayOf: request.replayOf } : {}),
          },
          traceId,
        });
        return { row: inserted, quota: { ...before, remaining: before.remaining - 1 } };
      });
      try {
        await deps.queue.send(
          RUN_QUEUE,
          { tenant, runId },
          { key: tenant, ...(row.priority === 'catch-up' ? { priority: CATCH_UP_PRIORITY } : {}) },
        );
        deps.queue.wake(RUN_QUEUE);
      } catch (error) {
        await this.finish(tenant, runId, 'failed', {
          errorCode: Errors.internal.code,
          errors: [{ code: Errors.internal.code, message: 'the run could not be queued; submit it again' }],
        });
        throw error;
      }
      return { run: runView(row), quota };
    },

    async getRun(tenant: string, runId: string): Promise<RunView> {
      return tx(tenant, async (q) => {
        const row = await getRun(q, runId);
        if (!row) throw notFound(`export run ${runId}`);
        return runView(row, await distributionsOf(q, runId));
      });
    },

    /** The stored row, for the worker and the download routes. */
    async runRow(tenant: string, runId: string): Promise<RunRow> {
      const row = await tx(tenant, (q) => getRun(q, runId));
      if (!row) throw notFound(`export run ${runId}`);
      return row;
    },

    async listRuns(tenant: string, filter: RunFilter) {
      const rows = await tx(tenant, (q) => listRuns(q, filter));
      return rows.map((r) => runView(r));
    },

    async cancel(tenant: string, runId: string): Promise<RunView> {
      const row = await tx(tenant, async (q) => {
        const run = await getRun(q, runId, true);
        if (!run) throw notFound(`export run ${runId}`);
        if (TERMINAL.has(run.status)) {
          throw new StellaError(
            ExportErrors.conflict,
            `run ${runId} is already ${run.status}; only queued or running runs can be cancelled`,
          );
        }
        const updated = await updateRun(q, runId, { status: 'cancelled', completed_at: clock.now() as never });
        await emit(q, tenant, runId, 'cancelled', {
          runId,
          status: 'cancelled',
          progress: updated.progress,
          ts: clock.now().toISOString(),
        });
        await timeline.append(q, tenant, { category: 'export', kind: 'export.run.cancelled', details: { runId } });
        return updated;
      });
      return runView(row);
    },

    async replay(tenant: string, runId: string, actor: string | null, traceId?: string) {
      const original = await this.runRow(tenant, runId);
      return this.submit(
        tenant,
        {
          profileId: original.profile_name,
          profileRevision: original.profile_revision,
          selectors: original.selectors,
          allowEmpty: original.allow_empty,
          priority: 'catch-up',
          replayOf: runId,
        },
        actor,
        traceId,
      );
    },

    events: (tenant: string, runId: string, afterSeq: number): Promise<EventRow[]> =>
      tx(tenant, (q) => eventsAfter(q, runId, afterSeq)),

    emit,
    timelineAppend: timeline.append,

    /** Moves a run to a terminal state with its event and timeline entry (no-op if already terminal). */
    async finish(
      tenant: string,
      runId: string,
      status: 'succeeded' | 'failed',
      outcome: { errorCode?: string; errors?: { code: string; message: string }[]; set?: Partial<RunRow> },
    ): Promise<RunRow | undefined> {
      return tx(tenant, async (q) => {
        const run = await getRun(q, runId, true);
        if (!run || TERMINAL.has(run.status)) return undefined;
        const progress = status === 'succeeded' ? { ...run.progress, percent: 100 } : run.progress;
        const updated = await updateRun(q, runId, {
          ...outcome.set,
          status,
          progress,
          error_code: outcome.errorCode ?? null,
          errors: outcome.errors ?? [],
          completed_at: clock.now() as never,
        });
        const ts = clock.now().toISOString();
        const data =
          status === 'succeeded'
            ? { runId, status, progress, ts, exportId: updated.export_id, digest: updated.bundle_digest }
            : { runId, status, progress, ts, errorCode: updated.error_code, errors: updated.errors };
        await emit(q, tenant, runId, status === 'succeeded' ? 'completed' : 'failed', data);
        await timeline.append(q, tenant, {
          category: 'export',
          kind: `export.run.${status}`,
          details:
            status === 'succeeded'
              ? { runId, exportId: updated.export_id, bundleDigest: updated.bundle_digest, records: updated.records }
              : { runId, errorCode: updated.error_code },
          traceId: run.trace_id ?? undefined,
        });
        return updated;
      });
    },

    transaction: tx,
  };
}

/** Families json:raw can write today; SBOMs and findings arrive with the Findings room. */
const RAW_FAMILIES: ReadonlySet<string> = new Set(['advisories', 'vex']);

/**
 * Refuses a run this build would otherwise complete wrongly: silently without encryption, without
 * the requested families, or without the policy snapshot the profile requires.
 */
function refuseUnbuildable(profile: ExportProfile, request: SubmitRequest): void {
  const problems: { pointer: string; message: string }[] = [];
  if (profile.spec.encryption?.enabled) {
    problems.push({
      pointer: '/spec/encryption',
      message: 'encrypted json:raw bundles are not supported yet; disable encryption or use a mirror profile',
    });
  }
  const missing = (profile.spec.include ?? []).filter((f) => !RAW_FAMILIES.has(f));
  if (missing.length > 0) {
    problems.push({
      pointer: '/spec/include',
      message: `json:raw cannot export ${missing.join(', ')} yet (only advisories, vex)`,
    });
  }
  if (profile.spec.policySnapshotMode === 'required' && !request.policySnapshotId) {
    problems.push({
      pointer: '/policySnapshotId',
      message: 'the profile requires a policy snapshot id (policySnapshotMode: required)',
    });
  }
  if (problems.length > 0) {
    throw new StellaError(
      ExportErrors.validation,
      `profile ${profile.metadata.name} cannot run: ${problems.map((p) => `${p.pointer}: ${p.message}`).join('; ')}`,
      { details: { errors: problems } },
    );
  }
}

export function quotaHeaders(quota: QuotaState): Record<string, string> {
  return {
    'X-Stella-Quota-Limit': String(quota.limit),
    'X-Stella-Quota-Remaining': String(quota.remaining),
    'X-Stella-Quota-Reset': String(quota.reset),
  };
}
