// Signals' application service, assembled from its parts: callgraph ingest (callgraphs/), runtime
// ingest and orphan attach (runtime/), recompute (engine/recompute.ts around the pure fact document
// builder) and the reads behind the routes (facts/). Each part is a set of functions over the shared
// context (context.ts), bound here. Routes, workers and the CLI call this.

import { ingestCallgraph } from './callgraphs/ingest.ts';
import { getCallgraphManifest, graphCoverage } from './callgraphs/read.ts';
import { createSignalsContext, type SignalsContext, type SignalsDeps } from './context.ts';
import { queueRecomputeJob, recompute } from './engine/recompute.ts';
import { getFact, listFacts, listUnknowns, readFact, reportUnknowns } from './facts/read.ts';
import { attestRuntime } from './runtime/attest.ts';
import { ingestRuntime } from './runtime/ingest.ts';
import { attachOrphans } from './runtime/orphans.ts';

export { callgraphIdOf } from './callgraphs/id.ts';
export type { CallgraphIngestResult } from './callgraphs/ingest.ts';
export { MANIFEST_PAYLOAD_TYPE } from './callgraphs/ingest.ts';
export type { SignalsConfig, SignalsDeps } from './context.ts';
export type { RecomputeReport } from './engine/recompute.ts';
export type { FactAnswer, PendingFact } from './facts/read.ts';
export { MAX_FACT_WAIT_SECONDS } from './facts/read.ts';
export type { RuntimeIngestInput, RuntimeIngestResult } from './runtime/ingest.ts';
export { FACT_TOPIC, ORPHAN_QUEUE, RECOMPUTE_QUEUE } from './topics.ts';

export type Signals = ReturnType<typeof createSignals>;

export function createSignals(deps: SignalsDeps) {
  const ctx = createSignalsContext(deps);
  /** An operation over the context, as the service's method. */
  const bound =
    <A extends unknown[], R>(operation: (ctx: SignalsContext, ...args: A) => R) =>
    (...args: A): R =>
      operation(ctx, ...args);
  return {
    ingestCallgraph: bound(ingestCallgraph),
    getCallgraph: ctx.graphs.getCallgraph,
    getManifest: bound(getCallgraphManifest),
    coverage: bound(graphCoverage),
    ingestRuntime: bound(ingestRuntime),
    attachOrphans: bound(attachOrphans),
    recompute: bound(recompute),
    queueRecomputeJob: bound(queueRecomputeJob),
    getFact: bound(getFact),
    readFact: bound(readFact),
    listFacts: bound(listFacts),
    reportUnknowns: bound(reportUnknowns),
    listUnknowns: bound(listUnknowns),
    listPublicKeys: (tenant: string) => deps.signing.listPublicKeys(tenant),
    attestRuntime: bound(attestRuntime),
    loadGraph: ctx.graphs.loadGraph,
    scoring: ctx.scoring,
  };
}
