// SPDX-License-Identifier: Apache-2.0
// AOC metrics with the names and labels of spec §3.6. AOC_METRICS_ENABLED=false registers nothing
// and turns every call into a no-op. Label values a caller chooses (the source vendor header, the
// initiator) are bounded: anything outside the configured set is reported as `other`.
import { lookupError } from '@stella/core';
import { counter, gauge, histogram, labelBound, OTHER_LABEL, type Registry } from '@stella/platform';
// Registers the ERR_AOC codes that the `code` label is checked against.
import './errors.ts';

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

export interface AocMetricsOptions {
  /** Vendors of aoc.sources: the `source` values kept; every other vendor is reported as `other`. */
  sources?: readonly string[];
}

/**
 * Without the configured sources, the first vendors seen keep their name, up to this many: enough for
 * a demo or a handful of manual feeds, while 3,000 made-up vendor headers still add no more series.
 */
const UNCONFIGURED_SOURCE_LABELS = 32;
/** prepareDocument's vendor when the document names none. */
const NO_VENDOR = 'unknown';
const INITIATORS = ['ui', 'cli', 'api', 'scheduled'];

export function createAocMetrics(registry: Registry, enabled: boolean, options: AocMetricsOptions = {}): AocMetrics {
  if (!enabled) return noop;
  const sourceLabel = labelBound({
    known: [...(options.sources ?? []), NO_VENDOR],
    maxOthers: options.sources?.length ? 0 : UNCONFIGURED_SOURCE_LABELS,
  });
  const initiatorLabel = labelBound({ known: INITIATORS });
  // Violation codes come from the error registry; anything else is not one of ours.
  const codeLabel = (code: string) => (lookupError(code) ? code : OTHER_LABEL);
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
    write: (source, tenant, result, n = 1) => writes.inc({ source: sourceLabel(source), tenant, result }, n),
    violation: (source, tenant, code) => violations.inc({ source: sourceLabel(source), tenant, code: codeLabel(code) }),
    signature: (source, tenant, result) => signatures.inc({ source: sourceLabel(source), tenant, result }),
    latency: (source, tenant, phase, seconds) =>
      latency.observe({ source: sourceLabel(source), tenant, phase }, seconds),
    revisionCount: (rawSource, tenant, depth) => {
      const source = sourceLabel(rawSource);
      const key = `${source}\u0000${tenant}`;
      if (depth <= (deepest.get(key) ?? 0)) return;
      deepest.set(key, depth);
      revisions.set({ source, tenant }, depth);
    },
    verifyRun: (tenant, rawInitiator, seconds) => {
      const initiator = initiatorLabel(rawInitiator);
      verifyRuns.inc({ tenant, initiator });
      verifyDuration.observe({ tenant, initiator }, seconds);
    },
  };
}
