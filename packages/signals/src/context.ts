// What every part of the signals service shares: its dependencies (ports passed in by the module or
// a test), its metrics and caches (stored graphs, the scoring, the overlay file), the tenant-scoped
// transaction, the two queues it feeds, and the fact event it publishes. Built once per service by
// createSignals; the service's operations are functions over it.
import { type Clock, type JsonLimits, newUlid, newUuid, STELLA_VERSION, sha256Hex } from '@stella/core';
import type { Db, JobQueue, Logger, Registry, SigningKeyStore, TenantBlobs, Timeline, Tx } from '@stella/platform';
import { type CallgraphStore, createCallgraphStore } from './callgraphs/graphs.ts';
import type { SignalsConfig } from './config.ts';
import { scoringOf } from './engine/fact-document.ts';
import type { ScoringOptions } from './engine/reachability.ts';
import { loadOverlay, type SymbolOverlay, type VulnerableSymbols } from './engine/targets.ts';
import { createFactWaiters, type FactWaiters } from './fact-waiters.ts';
import { createSignalsMetrics, type SignalsMetrics } from './metrics.ts';
import { ORPHAN_QUEUE, ORPHAN_RETRY_SECONDS, RECOMPUTE_QUEUE } from './topics.ts';

export type { SignalsConfig };

export interface SignalsDeps {
  db: Db;
  blobs: TenantBlobs;
  timeline: Timeline;
  signing: SigningKeyStore;
  config: SignalsConfig;
  clock: Clock;
  metrics: Registry;
  logger: Logger;
  queue?: JobQueue;
  /** Caps for JSON that signals parses itself (union-set files, wrapped graphs); the config's limits.json*. */
  jsonLimits?: JsonLimits;
  /**
   * Where default reachability targets come from: the vulnerable symbols advisories name (the AOC
   * room's vulnerableSymbols). Needed by a recompute of a subject without explicit targets; such a
   * recompute fails with ERR_INTERNAL when it is missing, rather than publishing facts without them.
   */
  advisories?: VulnerableSymbols;
}

export interface SignalsContext {
  deps: SignalsDeps;
  metrics: SignalsMetrics;
  factWaiters: FactWaiters;
  /** Stored callgraphs: rows and decoded graphs, cached. */
  graphs: CallgraphStore;
  scoring: ScoringOptions;
  /** The operator overlay file (signals.symbolOverlayPath), read on first use. */
  overlay(): SymbolOverlay;
  inTenant<T>(tenant: string, fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Queues the subject's recompute (at most one queued per subject); a queue failure is logged. */
  queueRecompute(tenant: string, subjectKey: string): Promise<void>;
  /** Queues a retry of the batches parked for `graphHash`; a queue failure is logged. */
  queueOrphanRetry(tenant: string, graphHash: string): Promise<void>;
  factEvent(
    tenant: string,
    subjectKey: string,
    kind: string,
    version: number,
    digest: string,
    contentType: string,
  ): Record<string, unknown>;
}

export function createSignalsContext(deps: SignalsDeps): SignalsContext {
  const { db, clock, logger } = deps;
  const factWaiters = createFactWaiters();
  const metrics = createSignalsMetrics(deps.metrics, factWaiters);
  const inTenant: SignalsContext['inTenant'] = (tenant, fn) => db.transaction(fn, { tenant });
  let overlay: SymbolOverlay | undefined;
  return {
    deps,
    factWaiters,
    metrics,
    graphs: createCallgraphStore({ blobs: deps.blobs, cacheRequests: metrics.cacheRequests, inTenant }),
    scoring: scoringOf(deps.config),
    overlay() {
      overlay ??= loadOverlay(deps.config.symbolOverlayPath);
      return overlay;
    },
    inTenant,
    async queueRecompute(tenant, subjectKey) {
      await deps.queue
        ?.send(RECOMPUTE_QUEUE, { tenant, subjectKey }, { key: tenant, singletonKey: `${tenant}:${subjectKey}` })
        .catch((error: unknown) => logger.warn({ err: error }, 'recompute could not be queued'));
    },
    async queueOrphanRetry(tenant, graphHash) {
      await deps.queue
        ?.send(ORPHAN_QUEUE, { tenant, graphHash }, { startAfterSeconds: ORPHAN_RETRY_SECONDS, key: tenant })
        .catch((error: unknown) => logger.warn({ err: error }, 'orphan retry could not be queued'));
    },
    factEvent(tenant, subjectKey, kind, version, digest, contentType) {
      return {
        event_id: newUuid(),
        emitted_at: clock.now().toISOString(),
        tenant,
        subject_key: subjectKey,
        fact_kind: kind,
        fact_version: version,
        digest,
        content_type: contentType,
        producer: 'stella.signals',
        source: { pipeline: 'signals', release: STELLA_VERSION },
        trace: { trace_id: newUlid(), span_id: sha256Hex(`${subjectKey}:${version}`).slice(0, 16) },
      };
    },
  };
}
