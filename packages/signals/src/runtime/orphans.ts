// Runtime batches that arrived before their graph ("orphans") are attached once the graph is
// ingested: each is re-read from CAS, aggregated again and applied as if it had just arrived.
import type { Tx } from '@stella/platform';
import type { LoadedGraph } from '../callgraphs/graphs.ts';
import type { SignalsContext } from '../context.ts';
import { addRuntimeFacts, type IngestRow, markApplied, selectOrphans, touchSubject } from '../sql/runtime.ts';
import { assertStorableText } from '../text.ts';
import { RuntimeAggregate, type SymbolAggregate } from './events.ts';
import { recordBatches } from './ingest.ts';

/** Some runtime batches parked for a graph could not be attached; `attached` others were. */
export class OrphansNotAttached extends Error {
  readonly attached: number;
  constructor(attached: number, message: string, cause: unknown) {
    super(message, { cause });
    this.attached = attached;
  }
}

/** Attaches parked batches once their graph exists; returns how many were attached. */
export async function attachOrphans(ctx: SignalsContext, tenant: string, graphHash: string): Promise<number> {
  const graph = await ctx.graphs.findCallgraph(tenant, graphHash);
  const orphans = await ctx.inTenant(tenant, (tx) => selectOrphans(tx, tenant, graphHash));
  if (!graph) {
    if (orphans.length > 0)
      throw new Error(`graph ${graphHash} not ingested yet; ${orphans.length} runtime batches wait`);
    return 0;
  }
  let attached = 0;
  const failed: { ingestId: string; error: unknown }[] = [];
  const loaded = await ctx.graphs.loadGraph(graph);
  // One batch that cannot be attached (its blob unreadable, or parked before text checks existed
  // and refused by the database now) does not keep the others parked; the failures are reported
  // together afterwards, so the orphan job retries them.
  for (const orphan of orphans) {
    try {
      if (await attachOne(ctx, tenant, { ...orphan, callgraphId: graph.callgraphId }, loaded)) attached++;
    } catch (error) {
      failed.push({ ingestId: orphan.ingestId, error });
    }
  }
  if (failed.length > 0) {
    throw new OrphansNotAttached(
      attached,
      `${failed.length} of ${orphans.length} runtime batches for graph ${graphHash} could not be attached (first: ${failed[0]!.ingestId}: ${(failed[0]!.error as Error).message})`,
      failed[0]!.error,
    );
  }
  return attached;
}

/** One parked batch onto its graph; false when another worker attached it first. */
async function attachOne(
  ctx: SignalsContext,
  tenant: string,
  orphan: IngestRow & { callgraphId: string },
  loaded: LoadedGraph,
): Promise<boolean> {
  const aggregate = await reaggregate(ctx, tenant, orphan);
  const done = await ctx.inTenant(tenant, async (tx) => {
    if (!(await markApplied(tx, tenant, orphan.ingestId, orphan.callgraphId))) return false;
    await applyBatch(ctx, tx, tenant, orphan, aggregate.sorted(), loaded);
    return true;
  });
  if (done) {
    ctx.metrics.runtimeEvents.inc(aggregate.events);
    await ctx.queueRecompute(tenant, orphan.subjectKey);
  }
  return done;
}

/** Adds a batch's hits to the subject (same transaction as the ingest row) and records it on the timeline. */
async function applyBatch(
  ctx: SignalsContext,
  tx: Tx,
  tenant: string,
  row: IngestRow & { callgraphId: string },
  symbols: [string, SymbolAggregate][],
  loaded: LoadedGraph,
): Promise<void> {
  const version = await touchSubject(tx, tenant, row.subjectKey, row.callgraphId, row.subject, true);
  await addRuntimeFacts(tx, tenant, row.subjectKey, symbols, (s) => loaded.index.has(s));
  await recordBatches(ctx, tx, tenant, [{ row, version }], async () => {});
}

/** A parked batch, re-read from CAS and aggregated again (it was validated on arrival). */
async function reaggregate(ctx: SignalsContext, tenant: string, orphan: IngestRow): Promise<RuntimeAggregate> {
  // As on arrival, a byte order mark before the first line is not part of the JSON.
  const text = (await ctx.deps.blobs.forTenant(tenant).getBytes(orphan.casUri)).toString('utf8').replace(/^\uFEFF/, '');
  const aggregate = new RuntimeAggregate();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const event = JSON.parse(line) as { symbolId: string; hitCount: number; observedAt?: string };
    assertStorableText(event.symbolId, `symbolId of runtime batch ${orphan.ingestId}`);
    aggregate.add(
      event.symbolId.normalize('NFC'),
      event.hitCount,
      event.observedAt ? new Date(event.observedAt).toISOString() : undefined,
    );
  }
  return aggregate;
}
