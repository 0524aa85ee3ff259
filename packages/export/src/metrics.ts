// SPDX-License-Identifier: Apache-2.0
// The runbook's exporter_* metrics (seed 002 §3, spec §2.7), exactly as named there.
import { counter, gauge, histogram, type JobQueue, type Registry } from '@stella/platform';

export interface ExportMetrics {
  runCompleted(profileKind: string, seconds: number, bytes: number): void;
  failure(profile: string, errorCode: string): void;
  distribution(driver: string, seconds: number): void;
  verifyFailure(profileKind: string): void;
  pruned(profileKind: string, n: number): void;
  retentionRan(at: Date): void;
  active(delta: number): void;
  storageBytes(bytes: number): void;
}

// Full runs have a 300 s SLO and deltas 120 s: buckets resolve both thresholds.
const RUN_BUCKETS = [1, 5, 15, 30, 60, 120, 180, 300, 600, 1200, 3600];
const PUSH_BUCKETS = [0.1, 0.5, 1, 5, 10, 30, 60, 120, 300];

export function createExportMetrics(registry: Registry, queue: JobQueue, queueName: string): ExportMetrics {
  const duration = histogram(
    registry,
    'exporter_run_duration_seconds',
    'Wall time of successful export runs from start to completion, by profile kind (e.g. json:raw).',
    ['profile_kind'],
    RUN_BUCKETS,
  );
  const failures = counter(registry, 'exporter_run_failures_total', 'Failed export runs, by error code and profile.', [
    'error_code',
    'profile',
  ]);
  const bytes = counter(registry, 'exporter_run_bytes_total', 'Bytes of bundles written by export runs.', [
    'profile_kind',
  ]);
  const push = histogram(
    registry,
    'exporter_distribution_push_seconds',
    'Time to push a bundle to a distribution target (object, oci).',
    ['driver'],
    PUSH_BUCKETS,
  );
  const verify = counter(
    registry,
    'exporter_verify_failures_total',
    'Bundles that failed the verification a worker runs before publishing them.',
    ['profile_kind'],
  );
  const pruned = counter(registry, 'exporter_retention_pruned_total', 'Runs whose artefacts retention removed.', [
    'profile_kind',
  ]);
  const lastRetention = gauge(
    registry,
    'exporter_retention_last_run_timestamp_seconds',
    'Unix time the retention pruner last completed (even when it pruned nothing).',
  );
  const active = gauge(registry, 'exporter_runs_active', 'Export runs executing in this process now.');
  const storage = gauge(
    registry,
    'exporter_storage_bytes_total',
    'Bytes of bundles kept in storage, as of the last retention pass.',
  );
  gauge(registry, 'exporter_jobs_ready', 'Export runs queued and waiting for a worker.', [], async function () {
    try {
      const stats = await queue.stats();
      this.set(stats.find((s) => s.queue === queueName)?.queued ?? 0);
    } catch {
      // A scrape during shutdown keeps the last value rather than failing the whole exposition.
    }
  });
  return {
    runCompleted(kind, seconds, n) {
      duration.observe({ profile_kind: kind }, seconds);
      bytes.inc({ profile_kind: kind }, n);
    },
    failure: (profile, code) => failures.inc({ error_code: code, profile }),
    distribution: (driver, seconds) => push.observe({ driver }, seconds),
    verifyFailure: (kind) => verify.inc({ profile_kind: kind }),
    pruned: (kind, n) => pruned.inc({ profile_kind: kind }, n),
    retentionRan: (at) => lastRetention.set(at.getTime() / 1000),
    active: (delta) => active.inc(delta),
    storageBytes: (n) => storage.set(n),
  };
}
