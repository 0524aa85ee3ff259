// Runtime ingest: a validated batch (spooled NDJSON or a structured body) becomes an ingest row, its
// hits aggregated onto the subject, a CAS blob, a timeline and an outbox event, all committed
// together; a retried batch (same ingest id or content) is answered as a duplicate and counted once.
// A batch for a graph not ingested yet is parked as an orphan until its graph arrives.
import { sha256Hex } from '@stella/core';
import { formatCasUri, type Tx } from '@stella/platform';
import type { LoadedGraph } from '../callgraphs/graphs.ts';
import type { SignalsContext } from '../context.ts';
import type { CallgraphRow } from '../sql/callgraphs.ts';
import { findIngest, type IngestRow, insertAppliedIngest, insertIngest } from '../sql/runtime.ts';
import { assertStorableText } from '../text.ts';
import { FACT_TOPIC } from '../topics.ts';
import { type EventBatch, refuse } from './events.ts';
import type { SpooledBatch } from './stream.ts';
import { type Subject, subjectKeyOf } from './subject.ts';

export interface RuntimeIngestInput {
  /** The callgraph row when the caller resolved it already (saves a query per batch). */
  graph?: CallgraphRow;
  callgraphId?: string;
  graphHash?: string;
  subject: Subject;
  source?: string;
  analysisId?: string;
  ingestId?: string;
  /** A spooled NDJSON stream or an in-memory aggregate of a structured body with its canonical bytes. */
  batch: SpooledBatch | EventBatch;
}

export interface RuntimeIngestResult {
  subjectKey: string;
  ingestId: string;
  callgraphId: string | null;
  graphHash: string;
  casUri: string;
  contentSha256: string;
  events: number;
  symbols: number;
  status: 'applied' | 'orphan';
  duplicate: boolean;
}

export type NewIngestRow = Omit<IngestRow, 'receivedAt'>;

const INGEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
const noop = () => {};

/** The bytes a batch is stored as in CAS, and their digest (its address). */
function batchContent(batch: SpooledBatch | EventBatch): { digest: string; body(): Buffer | NodeJS.ReadableStream } {
  if ('body' in batch) return { digest: batch.digest, body: () => batch.body() };
  return { digest: `sha256:${sha256Hex(batch.bytes)}`, body: () => batch.bytes };
}

export async function ingestRuntime(
  ctx: SignalsContext,
  tenant: string,
  input: RuntimeIngestInput,
): Promise<RuntimeIngestResult> {
  const subjectKey = subjectKeyOf(input.subject);
  for (const [what, value] of [
    ['graph hash', input.graphHash],
    ['source', input.source],
    ['X-Analysis-Id', input.analysisId],
  ] as const) {
    if (value !== undefined) assertStorableText(value, what);
  }
  const graph = input.graph ?? (await resolveGraphFor(ctx, tenant, input));
  const row = ingestRowOf(tenant, subjectKey, input, graph);
  const outcome = await storeBatch(ctx, tenant, row, graph, input.batch);
  if (typeof outcome === 'object') return resultFromRow(outcome.duplicate, true);
  const { runtimeEvents, batchSize, orphanTraces } = ctx.metrics;
  if (outcome === 'orphan') {
    orphanTraces.inc();
    await ctx.queueOrphanRetry(tenant, row.graphHash!);
  } else {
    runtimeEvents.inc(row.eventCount);
    batchSize.observe(row.eventCount);
    await ctx.queueRecompute(tenant, subjectKey);
  }
  return resultFromRow(row, false);
}

/** Resolves the graph a runtime upload refers to; a 404 for an unknown or foreign callgraph id. */
async function resolveGraphFor(
  ctx: SignalsContext,
  tenant: string,
  input: { callgraphId?: string; graphHash?: string },
) {
  if (input.callgraphId) return ctx.graphs.getCallgraph(tenant, input.callgraphId);
  if (!input.graphHash) throw refuse('callgraphId is required');
  return ctx.graphs.findCallgraph(tenant, input.graphHash);
}

/** The ingest row of a batch: applied to its graph, or an orphan waiting for it. */
function ingestRowOf(
  tenant: string,
  subjectKey: string,
  input: RuntimeIngestInput,
  graph: CallgraphRow | undefined,
): NewIngestRow {
  const contentSha256 = batchContent(input.batch).digest;
  const graphHash = graph?.graphHash ?? input.graphHash!;
  if (input.ingestId !== undefined && !INGEST_ID_RE.test(input.ingestId)) {
    throw refuse('X-Ingest-Id must be 1-128 characters of letters, digits, ".", "_", ":" or "-"');
  }
  const ingestId =
    input.ingestId ??
    `ing-${sha256Hex(`${tenant}\u0000${subjectKey}\u0000${graphHash}\u0000${contentSha256}`).slice(0, 32)}`;
  const { aggregate } = input.batch;
  return {
    ingestId,
    subjectKey,
    callgraphId: graph?.callgraphId ?? null,
    graphHash,
    contentSha256,
    // The address follows from the digest of the stream.
    casUri: formatCasUri('reachability/runtime', contentSha256.slice('sha256:'.length)),
    eventCount: aggregate.events,
    symbolCount: aggregate.symbols.size,
    source: input.source?.slice(0, 200) || 'runtime',
    analysisId: input.analysisId ?? null,
    subject: input.subject as Record<string, string>,
    status: graph ? 'applied' : 'orphan',
  };
}

/**
 * The blob is written (content-addressed, so a retried batch rewrites nothing) while the transaction
 * does its work; the transaction awaits it before the timeline append, so before COMMIT: a batch's
 * rows never commit before its blob is durable, and a failed write rolls them back. The ingest row's
 * unique keys decide, inside the transaction, whether this batch was seen before.
 */
async function storeBatch(
  ctx: SignalsContext,
  tenant: string,
  row: NewIngestRow,
  graph: CallgraphRow | undefined,
  batch: SpooledBatch | EventBatch,
): Promise<'applied' | 'orphan' | { duplicate: IngestRow }> {
  const loaded: LoadedGraph | undefined = graph ? await ctx.graphs.loadGraph(graph) : undefined;
  const symbols = batch.aggregate.sorted();
  const putting = ctx.deps.blobs.put('reachability/runtime', batchContent(batch).body(), {
    expectedDigest: row.contentSha256,
  });
  putting.catch(noop); // awaited by durable(); this only keeps a failure mid-transaction from going unhandled
  const durable = async () => {
    const stored = await putting;
    if (stored.uri !== row.casUri) throw new Error(`CAS stored ${stored.uri}, expected ${row.casUri}`);
  };
  return ctx
    .inTenant(tenant, async (tx) => {
      const duplicate = async () => {
        await durable();
        return { duplicate: (await findIngest(tx, tenant, row.ingestId, row.subjectKey, row.contentSha256))! };
      };
      if (graph && loaded) {
        const applied = { ...row, callgraphId: graph.callgraphId, status: 'applied' as const };
        const version = await insertAppliedIngest(tx, tenant, applied, symbols, (s) => loaded.index.has(s));
        if (version === undefined) return duplicate();
        await recordBatch(ctx, tx, tenant, applied, version, durable);
        return 'applied' as const;
      }
      if (!(await insertIngest(tx, tenant, row))) return duplicate();
      await durable();
      await ctx.deps.timeline.append(tx, tenant, {
        category: 'runtime',
        kind: 'reach.runtime.orphaned',
        details: {
          ingestId: row.ingestId,
          graphHash: row.graphHash,
          casDigest: row.contentSha256,
          casUri: row.casUri,
          subjectKey: row.subjectKey,
          events: row.eventCount,
        },
      });
      return 'orphan' as const;
    })
    .finally(() => putting.then(noop, noop)); // the caller disposes the spooled body once this returns
}

/**
 * The outbox event, then (once `durable` says the CAS blob is on disk) the timeline event, as the
 * last statement: appending locks the tenant's timeline head until COMMIT and every batch of the
 * tenant queues on that lock, so nothing else runs while it is held.
 */
export async function recordBatch(
  ctx: SignalsContext,
  tx: Tx,
  tenant: string,
  row: NewIngestRow & { callgraphId: string },
  version: number,
  durable: () => Promise<void>,
): Promise<void> {
  const { timeline } = ctx.deps;
  await timeline.publish(
    tx,
    tenant,
    FACT_TOPIC,
    ctx.factEvent(tenant, row.subjectKey, 'runtime', version, row.contentSha256, 'application/vnd.stellaops.ndjson'),
  );
  await durable();
  await timeline.append(tx, tenant, {
    category: 'runtime',
    kind: 'reach.runtime.ingested',
    details: {
      ingestId: row.ingestId,
      casDigest: row.contentSha256,
      casUri: row.casUri,
      graphHash: row.graphHash,
      callgraphId: row.callgraphId,
      subjectKey: row.subjectKey,
      events: row.eventCount,
      symbols: row.symbolCount,
      source: row.source,
    },
  });
}

function resultFromRow(row: IngestRow | NewIngestRow, duplicate: boolean): RuntimeIngestResult {
  return {
    subjectKey: row.subjectKey,
    ingestId: row.ingestId,
    callgraphId: row.callgraphId,
    graphHash: row.graphHash ?? '',
    casUri: row.casUri,
    contentSha256: row.contentSha256,
    events: row.eventCount,
    symbols: row.symbolCount,
    status: row.status,
    duplicate,
  };
}
