// SPDX-License-Identifier: Apache-2.0
// AOC metrics with the names and labels of spec §3.6. AOC_METRICS_ENABLED=false registers nothing
// and turns every call into a no-op.
import { counter, gauge, histogram, type Registry } from '@stella/platform';

export interface AocMetrics {
  write(source: string, tenant: string, result: 'ok' | 'reject' | 'noop', n?: number): void;
  violation(source: string, tenant: string, code: string): void;
  signature(source: string, tenant: string, result: 'ok' | 'fail' | 'skipped'): void;
  latency(source: string, tenant: string, phase: 'fetch' | 'transform' | 'write', seconds: number): void;
  revisionCount(source: string, tenant: string, depth: number): void;
  verifyRun(tenant: string, initiator: string, seconds: number): void;
}

const noop: AocMetrics = {
  write() {},
  violation() {},
  signature() {},
  latency() {},
  revisionCount() {},
  verifyRun() {},
};

export function createAocMetrics(registry: Registry, enabled: boolean): AocMetrics {
  if (!enabled) return noop;
  const writes = counter(registry, 'ingestion_write_total', 'Raw documents written, by result (ok, reject, noop).', [
    'source',
    'tenant',
    'result',
  ]);
  const violations = counter(registry, 'aoc_violation_total', 'AOC guard violations, by ERR_AOC code.', [
    'source',
    'tenant',
    'code',
  ]);
  const signatures = counter(
    registry,
    'ingestion_signature_verified_total',
    'Upstream signature checks, by result (ok, fail, skipped).',
    ['source', 'tenant', 'result'],
  );
  const latency = histogram(
    registry,
    'ingestion_latency_seconds',
    'Ingestion latency per phase (fetch, transform, write).',
    ['source', 'tenant', 'phase'],
    [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
  );
  const revisions = gauge(
    registry,
    'advisory_revision_count',
    'Deepest supersedes chain (highest revision number) written by this process, per source.',
    ['source', 'tenant'],
  );
  const deepest = new Map<string, number>();
  const verifyRuns = counter(registry, 'verify_runs_total', 'AOC verification runs, by initiator.', [
    'tenant',
    'initiator',
  ]);
  const verifyDuration = histogram(
    registry,
    'verify_duration_seconds',
    'AOC verification run duration.',
    ['tenant', 'initiator'],
    [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
  );
  return {
    write: (source, tenant, result, n = 1) => writes.inc({ source, tenant, result }, n),
    violation: (source, tenant, code) => violations.inc({ source, tenant, code }),
    signature: (source, tenant, result) => signatures.inc({ source, tenant, result }),
    latency: (source, tenant, phase, seconds) => latency.observe({ source, tenant, phase }, seconds),
    revisionCount: (source, tenant, depth) => {
      const key = `${source}\u0000${tenant}`;
      if (depth <= (deepest.get(key) ?? 0)) return;
      deepest.set(key, depth);
      revisions.set({ source, tenant }, depth);
    },
    verifyRun: (tenant, initiator, seconds) => {
      verifyRuns.inc({ tenant, initiator });
      verifyDuration.observe({ tenant, initiator }, seconds);
    },
  };
}
