// Signals' metrics, registered once per service: ingest rate and batch sizes, orphans, recompute
// latency, cache hit rates, fact staleness, the last runtime batch and the requests waiting for a fact.
import { counter, gauge, histogram, type Registry } from '@stella/platform';
import type { FactWaiters } from './fact-waiters.ts';

export type SignalsMetrics = ReturnType<typeof createSignalsMetrics>;

export function createSignalsMetrics(m: Registry, factWaiters: FactWaiters) {
  const metrics = {
    runtimeEvents: counter(m, 'stella_signals_runtime_events_total', 'Runtime fact events accepted (ingest rate)'),
    batchSize: histogram(
      m,
      'stella_signals_runtime_batch_events',
      'Events per accepted runtime batch',
      [],
      [1, 10, 100, 1000, 10000, 100000, 1000000],
    ),
    groupBatches: histogram(
      m,
      'stella_signals_runtime_group_batches',
      'Runtime batches committed together in one transaction (group commit)',
      [],
      [1, 2, 4, 8, 16, 32],
    ),
    orphanTraces: counter(
      m,
      'stella_reachability_orphan_traces_total',
      'Runtime batches received for a graph hash that was not ingested yet (queued for retry)',
    ),
    recomputeSeconds: histogram(
      m,
      'stella_signals_recompute_seconds',
      'Recompute latency per subject',
      [],
      [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    ),
    cacheRequests: counter(m, 'stella_signals_cache_requests_total', 'Graph cache and fact-input cache lookups', [
      'cache',
      'result',
    ]),
    factStaleness: histogram(
      m,
      'stella_signals_fact_staleness_seconds',
      'Age of the newest runtime observation when a fact is computed',
      [],
      [1, 10, 60, 600, 3600, 21600, 86400, 604800],
    ),
    factsUpdated: counter(m, 'stella_signals_facts_updated_total', 'Reachability facts written (new fact_version)'),
    // Fact staleness is observed only when a fact is recomputed, so sensors that all stopped sending
    // leave it silent; this tells an idle fleet from a stale one.
    runtimeLastBatch: gauge(
      m,
      'stella_signals_runtime_last_batch_timestamp_seconds',
      'Unix time this process last accepted a runtime batch (applied or parked as an orphan); 0 before the first',
    ),
  };
  gauge(
    m,
    'stella_signals_fact_waiters',
    'Requests waiting for a pending reachability fact (GET /signals/facts/{subjectKey}?wait=)',
    [],
    function () {
      this.set(factWaiters.count());
    },
  );
  return metrics;
}
