// SPDX-License-Identifier: Apache-2.0
// Retention (runbook §5.2, spec §2.7): per profile `retention {mode: days|count, value}`, with the
// runbook's defaults per kind. Whatever the policy, the latest successful bundle of each profile and
// the last `export.keepDeltas` delta bundles stay. Bundles are content-addressed and identical
// inputs give identical bundles, so a blob is deleted only when no kept run still points at it.
import type { Clock } from '@stella/core';
import type { Db, Logger, Queryable, TenantBlobs, Timeline } from '@stella/platform';
import type { ExportMetrics } from './metrics.ts';
import { listLatestProfiles } from './sql/profiles.ts';
import { appendEvent, knownTenants, type RunRow, retainedRuns, updateRun } from './sql/runs.ts';

export interface RetentionPolicy {
  mode: 'days' | 'count';
  value: number;
}

/** Retention for profiles that set none, per kind (export.retention; the runbook's defaults). */
export type RetentionDefaults = Readonly<Record<'mirror' | 'trivy' | 'json', RetentionPolicy>>;

/** The runbook's defaults: mirror 30 days, trivy 10 runs; json 30 days. */
export const RUNBOOK_RETENTION: RetentionDefaults = {
  mirror: { mode: 'days', value: 30 },
  trivy: { mode: 'count', value: 10 },
  json: { mode: 'days', value: 30 },
};

export function defaultRetention(kind: string, defaults: RetentionDefaults = RUNBOOK_RETENTION): RetentionPolicy {
  return kind === 'mirror' || kind === 'trivy' ? defaults[kind] : defaults.json;
}

export interface PruneReport {
  tenant: string;
  pruned: { runId: string; profileId: string; reason: string }[];
  kept: number;
  blobsDeleted: number;
  keptBytes: number;
}

export interface RetentionDeps {
  db: Db;
  blobs: TenantBlobs;
  timeline: Timeline;
  clock: Clock;
  metrics: ExportMetrics;
  logger: Logger;
  keepDeltas: number;
  /** export.retention; default the runbook's. */
  defaults?: RetentionDefaults;
}

export type RetentionService = ReturnType<typeof createRetention>;

/** Which runs of one profile (newest first) retention removes, with the reason. */
export function selectExpired(
  runs: readonly RunRow[],
  policy: RetentionPolicy,
  options: { now: Date; keepDeltas: number; delta: boolean },
): Map<string, string> {
  const expired = new Map<string, string>();
  const latestSucceeded = runs.find((r) => r.status === 'succeeded');
  let deltasKept = 0;
  runs.forEach((run, index) => {
    if (run === latestSucceeded) return;
    if (options.delta && run.status === 'succeeded' && deltasKept < options.keepDeltas) {
      deltasKept++;
      return;
    }
    if (policy.mode === 'count' && index >= policy.value) {
      expired.set(run.run_id, `beyond the newest ${policy.value} runs`);
    } else if (policy.mode === 'days') {
      const age = (options.now.getTime() - new Date(run.created_at).getTime()) / 86_400_000;
      if (age > policy.value) expired.set(run.run_id, `older than ${policy.value} days`);
    }
  });
  return expired;
}

interface PrunePlan {
  expiredRuns: { run: RunRow; reason: string }[];
  /** Blobs a kept run still points at: never deleted, even when an expired run shares them. */
  keptUris: Set<string>;
  keptBytes: number;
}

/** Each profile's runs against its retention policy (or the runbook default for its kind). */
async function planPrune(
  q: Queryable,
  now: Date,
  keepDeltas: number,
  defaults: RetentionDefaults = RUNBOOK_RETENTION,
): Promise<PrunePlan> {
  const profiles = new Map((await listLatestProfiles(q, { includeArchived: true })).map((p) => [p.name, p] as const));
  const byProfile = new Map<string, RunRow[]>();
  for (const run of await retainedRuns(q)) {
    const list = byProfile.get(run.profile_name) ?? [];
    list.push(run);
    byProfile.set(run.profile_name, list);
  }
  const plan: PrunePlan = { expiredRuns: [], keptUris: new Set<string>(), keptBytes: 0 };
  for (const [name, runs] of byProfile) {
    const profile = profiles.get(name);
    const kind = profile?.kind ?? runs[0]!.profile_kind.split(':')[0]!;
    const policy =
      (profile?.document.spec.retention as RetentionPolicy | undefined) ?? defaultRetention(kind, defaults);
    const expired = selectExpired(runs, policy, { now, keepDeltas, delta: profile?.variant === 'delta' });
    for (const run of runs) {
      const reason = expired.get(run.run_id);
      if (reason) {
        plan.expiredRuns.push({ run, reason });
      } else {
        for (const uri of [run.bundle_uri, run.provenance_uri]) if (uri) plan.keptUris.add(uri);
        plan.keptBytes += Number(run.bundle_bytes ?? 0);
      }
    }
  }
  return plan;
}

/**
 * Marks the run expired first, with its event and timeline entry: a crash before its blobs are
 * deleted leaves a harmless orphan blob, never a run that claims a bundle that is gone.
 */
async function expireRun(deps: RetentionDeps, tenant: string, run: RunRow, reason: string, now: Date): Promise<void> {
  await deps.db.transaction(
    async (q) => {
      await updateRun(q, run.run_id, { status: 'expired', bundle_uri: null, provenance_uri: null, expired_at: now });
      await appendEvent(q, tenant, run.run_id, 'expired', {
        runId: run.run_id,
        status: 'expired',
        progress: run.progress,
        ts: now.toISOString(),
        reason,
      });
      await deps.timeline.append(q, tenant, {
        category: 'export',
        kind: 'export.run.expired',
        details: { runId: run.run_id, profileId: run.profile_name, bundleDigest: run.bundle_digest, reason },
      });
    },
    { tenant },
  );
}

export function createRetention(deps: RetentionDeps) {
  const { db, blobs, clock, metrics } = deps;

  async function prune(tenant: string): Promise<PruneReport> {
    const now = clock.now();
    const { expiredRuns, keptUris, keptBytes } = await db.transaction(
      (q) => planPrune(q, now, deps.keepDeltas, deps.defaults),
      {
        tenant,
      },
    );
    let blobsDeleted = 0;
    const pruned: PruneReport['pruned'] = [];
    for (const { run, reason } of expiredRuns) {
      await expireRun(deps, tenant, run, reason, now);
      for (const uri of [run.bundle_uri, run.provenance_uri]) {
        if (uri && !keptUris.has(uri) && (await blobs.forTenant(tenant).delete(uri))) blobsDeleted++;
      }
      metrics.pruned(run.profile_kind, 1);
      pruned.push({ runId: run.run_id, profileId: run.profile_name, reason });
    }
    if (pruned.length > 0)
      deps.logger.info({ tenant, pruned: pruned.length, blobsDeleted }, 'export retention pruned runs');
    // Every run counts, a tenant's from `stella export retention run` too, and one that pruned nothing:
    // the runbook's ExportCenterRetentionStale watches this timestamp, not the pruned count.
    metrics.retentionRan(clock.now());
    return { tenant, pruned, kept: keptUris.size, blobsDeleted, keptBytes };
  }

  return {
    prune,
    /** Every tenant with export runs, as the nightly job does. */
    async pruneAll(): Promise<PruneReport[]> {
      const tenants = await db.transaction((q) => knownTenants(q));
      const reports: PruneReport[] = [];
      for (const tenant of tenants) reports.push(await prune(tenant));
      metrics.storageBytes(reports.reduce((sum, r) => sum + r.keptBytes, 0));
      return reports;
    },
  };
}
