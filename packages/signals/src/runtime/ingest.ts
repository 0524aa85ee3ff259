// Runtime ingest: a validated batch (spooled NDJSON or a structured body) becomes an ingest row, its
// hits aggregated onto the subject, a CAS blob, a timeline and an outbox event, all committed
// together (batches that arrive together share one transaction and one timeline event: group-commit.ts);
// a retried batch (same ingest id or content) is answered as a duplicate and counted once.
// A batch for a graph not ingested yet is parked as an orphan until its graph arrives.
import { sha256Hex } from '@stella/core';
import { formatCasUri, type Tx } from '@stella/platform';
import type { LoadedGraph } from '../callgraphs/graphs.ts';
import type { SignalsContext } from '../context.ts';
import type { CallgraphRow } from '../sql/callgraphs.ts';
import { findIngest, type IngestRow, insertAppliedIngest, insertIngest } from '../sql/runtime.ts';
import { assertStorableText } from '../text.ts';
import { FACT_TOPIC } from '../topics.ts';
import { type EventBatch, refuse, type SymbolAggregate } from './events.ts';
import { createGroupCommitter, type GroupCommitter } from './group-commit.ts';
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
  const { runtimeEvents, batchSize, orphanTraces, runtimeLastBatch } = ctx.metrics;
  runtimeLastBatch.set(ctx.deps.clock.now().getTime() / 1000);
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

/** An applied batch ready to commit: its row, sorted facts, and the wait for its CAS blob. */
interface ReadyBatch {
  row: NewIngestRow & { callgraphId: string; status: 'applied' };
  symbols: [string, SymbolAggregate][];
  inGraph: (symbolId: string) => boolean;
  durable: () => Promise<void>;
}

type BatchOutcome = 'applied' | { duplicate: IngestRow };

/** Most batches one transaction commits together; enough to share one commit among many clients. */
const MAX_GROUP = 32;

const committers = new WeakMap<SignalsContext, GroupCommitter<ReadyBatch, BatchOutcome>>();

/** The context's group committer of applied batches, one group per tenant (its timeline is one chain). */
function committerOf(ctx: SignalsContext): GroupCommitter<ReadyBatch, BatchOutcome> {
  let committer = committers.get(ctx);
  if (!committer) {
    committer = createGroupCommitter((tenant, batches) => commitGroup(ctx, tenant, batches), {
      lanes: ctx.deps.db.capabilities.concurrentTransactions ? 2 : 1,
      maxGroup: MAX_GROUP,
      onGroup: (size) => ctx.metrics.groupBatches.observe(size),
    });
    committers.set(ctx, committer);
  }
  return committer;
}

/**
 * The blob is written (content-addressed, so a retried batch rewrites nothing) while the batch waits
 * for and runs in its transaction; that transaction awaits every blob of its group before the
 * timeline append, so before COMMIT: a batch's rows never commit before its blob is durable, and a
 * failed write rolls them back (the group's other batches are then committed on their own). The
 * ingest row's unique keys decide, inside the transaction, whether this batch was seen before.
 */
async function storeBatch(
  ctx: SignalsContext,
  tenant: string,
  row: NewIngestRow,
  graph: CallgraphRow | undefined,
  batch: SpooledBatch | EventBatch,
): Promise<'applied' | 'orphan' | { duplicate: IngestRow }> {
  const loaded: LoadedGraph | undefined = graph ? await ctx.graphs.loadGraph(graph) : undefined;
  const putting = ctx.deps.blobs.forTenant(tenant).put('reachability/runtime', batchContent(batch).body(), {
    expectedDigest: row.contentSha256,
  });
  putting.catch(noop); // awaited by durable(); this only keeps a failure mid-transaction from going unhandled
  const durable = async () => {
    const stored = await putting;
    if (stored.uri !== row.casUri) throw new Error(`CAS stored ${stored.uri}, expected ${row.casUri}`);
  };
  const stored =
    graph && loaded
      ? committerOf(ctx).submit(tenant, {
          row: { ...row, callgraphId: graph.callgraphId, status: 'applied' },
          symbols: batch.aggregate.sorted(),
          inGraph: (s) => loaded.index.has(s),
          durable,
        })
      : storeOrphan(ctx, tenant, row, durable);
  return stored.finally(() => putting.then(noop, noop)); // the caller disposes the spooled body once this returns
}

/**
 * One transaction over a group of applied batches of one tenant. Batches are written in subject-key
 * order, so two transactions that touch the same subjects lock their rows in the same order and
 * never deadlock each other; each batch's outbox event follows its rows, and the group's one timeline
 * event comes last, once every blob of the group is durable.
 */
async function commitGroup(
  ctx: SignalsContext,
  tenant: string,
  batches: readonly ReadyBatch[],
): Promise<BatchOutcome[]> {
  const order = batches.map((_, i) => i).sort((a, b) => compareText(batches[a]!.row, batches[b]!.row));
  return ctx.inTenant(tenant, async (tx) => {
    const versions: (number | undefined)[] = new Array(batches.length);
    for (const i of order) {
      const { row, symbols, inGraph } = batches[i]!;
      versions[i] = await insertAppliedIngest(tx, tenant, row, symbols, inGraph);
    }
    const applied = order
      .filter((i) => versions[i] !== undefined)
      .map((i) => ({ row: batches[i]!.row, version: versions[i]! }));
    await recordBatches(ctx, tx, tenant, applied, () => Promise.all(batches.map((b) => b.durable())));
    const outcomes: BatchOutcome[] = [];
    for (const [i, { row }] of batches.entries()) {
      outcomes.push(
        versions[i] !== undefined
          ? 'applied'
          : { duplicate: (await findIngest(tx, tenant, row.ingestId, row.subjectKey, row.contentSha256))! },
      );
    }
    return outcomes;
  });
}

const compareText = (a: NewIngestRow, b: NewIngestRow): number =>
  a.subjectKey !== b.subjectKey
    ? a.subjectKey < b.subjectKey
      ? -1
      : 1
    : a.ingestId < b.ingestId
      ? -1
      : a.ingestId > b.ingestId
        ? 1
        : 0;

/** A batch for a graph not ingested yet: parked in its own transaction until the graph arrives. */
function storeOrphan(
  ctx: SignalsContext,
  tenant: string,
  row: NewIngestRow,
  durable: () => Promise<void>,
): Promise<'orphan' | { duplicate: IngestRow }> {
  return ctx.inTenant(tenant, async (tx) => {
    const inserted = await insertIngest(tx, tenant, row);
    await durable();
    if (!inserted) {
      return { duplicate: (await findIngest(tx, tenant, row.ingestId, row.subjectKey, row.contentSha256))! };
    }
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
  });
}

/**
 * Each applied batch's outbox event, then (once `durable` says every CAS blob is on disk) one
 * timeline event listing the batches, as the last statement: appending locks the tenant's timeline
 * head until COMMIT and every transaction of the tenant queues on that lock, so nothing else runs
 * while it is held. Nothing is recorded when every batch was a duplicate.
 */
export async function recordBatches(
  ctx: SignalsContext,
  tx: Tx,
  tenant: string,
  applied: readonly { row: NewIngestRow & { callgraphId: string }; version: number }[],
  durable: () => Promise<unknown>,
): Promise<void> {
  const { timeline } = ctx.deps;
  for (const { row, version } of applied) {
    await timeline.publish(
      tx,
      tenant,
      FACT_TOPIC,
      ctx.factEvent(tenant, row.subjectKey, 'runtime', version, row.contentSha256, 'application/vnd.stellaops.ndjson'),
    );
  }
  await durable();
  if (applied.length === 0) return;
  await timeline.append(tx, tenant, {
    category: 'runtime',
    kind: 'reach.runtime.ingested',
    details: {
      batches: applied.map(({ row }) => ({
        ingestId: row.ingestId,
        casDigest: row.contentSha256,
        casUri: row.casUri,
        graphHash: row.graphHash,
        callgraphId: row.callgraphId,
        subjectKey: row.subjectKey,
        events: row.eventCount,
        symbols: row.symbolCount,
        source: row.source,
      })),
      events: applied.reduce((sum, { row }) => sum + row.eventCount, 0),
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
