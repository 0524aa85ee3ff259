// SPDX-License-Identifier: Apache-2.0
// Runs a connector inside the server: fetch → guard → write in batches, saving the connector's
// cursor after each committed batch so an interrupted run resumes where it stopped. A crash between
// a batch and its cursor only repeats that batch, which idempotency turns into no-ops. Sources with
// an `input` in config are scheduled with pg-boss on their cron; POST /aoc/sources/{vendor}/run
// queues a run now.
import { STELLA_VERSION } from '@stella/core';
import type { Ctx, JobQueue } from '@stella/platform';
import {
  type Connector,
  type ConnectorKind,
  connectorFor,
  detectConnector,
  type FetchedDocument,
} from '../connectors/index.ts';
import type { DocumentKind } from '../formats/types.ts';
import type { IngestDocument } from '../ingest/document.ts';
import type { Prepared, PreparedDocument } from '../ingest/prepare.ts';
import type { AocService, Rejected } from '../service.ts';
import { loadCursor, saveCursor } from '../sql/connector-state.ts';
import { identityKey } from '../sql/raw.ts';
import { fetchDocuments } from './fetch.ts';
import { configuredSources, connectorQueue } from './settings.ts';

export interface ConnectorRun {
  tenant: string;
  vendor: string;
  input: string;
  kind: DocumentKind | 'auto';
  connector?: ConnectorKind | undefined;
  /** Start over instead of resuming from the saved cursor. */
  restart?: boolean | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((p: { done: number; written: number; noop: number; rejected: number }) => void) | undefined;
}

export interface ConnectorRunSummary {
  vendor: string;
  input: string;
  connector: ConnectorKind;
  fetched: number;
  written: number;
  noop: number;
  rejected: Array<{ location: string | undefined; code: string; message: string }>;
  cursor: string | null;
}

export function documentFromFetched(
  fetched: FetchedDocument,
  vendor: string,
  connector: string,
  kind: DocumentKind | 'auto',
): IngestDocument {
  return {
    bytes: fetched.bytes,
    proposal: {
      source: { vendor, connector, version: STELLA_VERSION },
      upstream: { retrieved_at: fetched.retrievedAt },
    },
    kind,
    signature: fetched.signature ? { format: fetched.signature.format, bytes: fetched.signature.bytes } : undefined,
    declaredDigest: fetched.declaredDigest,
    location: fetched.location,
  };
}

/** What a run does with its documents: batches committed in order, each with its cursor. */
interface BatchWriter {
  /** Documents and refusals waiting for the next commit. */
  readonly pending: number;
  add(prepared: Prepared, cursor: string | null): void;
  /** Resolves when another batch may start; rejects with the earliest failure so far. */
  ready(): Promise<void>;
  /** Starts committing what is pending, ordered after the batch before it. */
  flush(): void;
  /** Resolves when every started commit is done; rejects with the earliest batch's failure. */
  settled(): Promise<void>;
}

// Where transactions run concurrently, batch n+1's rows go in on a second connection while batch n
// finishes: PostgreSQL checks two batches' constraints on two backends while Node guards the next.
// A third would only queue behind the same commit order and hold another connection of the pool.
const BATCHES_IN_FLIGHT = 2;

/** A batch's commit, seen by the batch after it: an earlier failure is not that batch's own fault. */
function earlierCommit(committed: Promise<void>): Promise<void> {
  const after = committed.catch(() => {
    throw new Error('an earlier batch did not commit');
  });
  // Awaited only once the batch's rows are in; a batch that fails before must not leave it unhandled.
  after.catch(() => {});
  return after;
}

/**
 * Batch n commits while batch n+1 is read and guarded and, where the backend runs transactions
 * concurrently, while batch n+1's rows go in too. Batches still commit in order, each with its cursor
 * in the same transaction: batch n+1 waits for batch n's commit before its timeline events, its cursor
 * and its commit (WriteContext.after), and rolls back if batch n failed. A crash therefore repeats a
 * batch at most (its transaction is lost and the cursor is the one before it) and skips nothing. A
 * batch sharing a document chain with the batch before it starts only after that one committed, so
 * it reads the chain's new head instead of waiting on the other transaction's index entries.
 */
function createBatchWriter(
  ctx: Ctx,
  service: AocService,
  run: ConnectorRun,
  summary: ConnectorRunSummary,
): BatchWriter {
  const initiator = `connector:${run.vendor}`;
  const limit = ctx.db.capabilities.concurrentTransactions ? BATCHES_IN_FLIGHT : 1;
  let batch: PreparedDocument[] = [];
  let rejected: Rejected[] = [];
  let batchCursor: string | null = null;
  let flushed = 0;
  let previous: { committed: Promise<void>; chains: Set<string> } | undefined;
  const inFlight = new Set<Promise<void>>();
  const failures: Array<{ batch: number; error: unknown }> = [];
  const throwEarliestFailure = () => {
    if (failures.length === 0) return;
    throw failures.reduce((a, b) => (b.batch < a.batch ? b : a)).error;
  };
  const commit = async (docs: PreparedDocument[], failed: Rejected[], cursor: string | null, after: Promise<void>) => {
    await service.recordRejections(run.tenant, failed, initiator);
    if (docs.length > 0) {
      const results = await service.write(run.tenant, docs, {
        initiator,
        after,
        inTransaction: (tx) => saveCursor(tx, run, cursor, null),
      });
      for (const r of results) {
        if (r.result === 'ok') summary.written++;
        else summary.noop++;
      }
    } else {
      await ctx.db.transaction((tx) => saveCursor(tx, run, cursor, null), { tenant: run.tenant });
    }
    summary.cursor = cursor;
    run.onProgress?.({
      done: summary.fetched,
      written: summary.written,
      noop: summary.noop,
      rejected: summary.rejected.length,
    });
  };
  return {
    get pending() {
      return batch.length + rejected.length;
    },
    add(prepared, cursor) {
      if (prepared.ok) batch.push(prepared.doc);
      else {
        rejected.push(prepared);
        summary.rejected.push({
          location: prepared.location,
          code: prepared.error.code,
          message: prepared.error.message,
        });
      }
      batchCursor = cursor;
    },
    async ready() {
      while (inFlight.size >= limit) await Promise.race(inFlight);
      throwEarliestFailure();
    },
    flush() {
      const docs = batch;
      const failed = rejected;
      const cursor = batchCursor;
      const number = flushed++;
      batch = [];
      rejected = [];
      const before = previous;
      const chains = new Set(
        docs.map((d) => `${d.store}\u0000${identityKey(d.envelope.source.vendor, d.envelope.upstream.upstream_id)}`),
      );
      const committed = (async () => {
        const after = earlierCommit(before?.committed ?? Promise.resolve());
        // Rejections and a cursor-only batch are timeline events and cursor writes outside the batch's
        // write: they wait for the earlier batch as a write's witness does.
        const waitFirst =
          failed.length > 0 || docs.length === 0 || [...chains].some((chain) => before?.chains.has(chain));
        if (waitFirst) await after;
        await commit(docs, failed, cursor, after);
      })();
      previous = { committed, chains };
      const tracked = committed.then(
        () => {},
        (error: unknown) => {
          failures.push({ batch: number, error });
        },
      );
      inFlight.add(tracked);
      void tracked.then(() => inFlight.delete(tracked));
    },
    async settled() {
      await Promise.all(inFlight);
      throwEarliestFailure();
    },
  };
}

/** The connector's documents from the run's cursor on; a document it cannot read is counted and skipped. */
function documentsOf(
  ctx: Ctx,
  service: AocService,
  run: ConnectorRun,
  connector: Connector,
  summary: ConnectorRunSummary,
) {
  return fetchDocuments(
    connector,
    {
      input: run.input,
      ...(summary.cursor ? { cursor: summary.cursor } : {}),
      ...(run.signal ? { signal: run.signal } : {}),
      now: () => ctx.clock.now(),
      limits: {
        documentBytes: ctx.config.limits.documentBytes,
        decompressedBytes: ctx.config.limits.decompressedBytes,
        archiveEntries: ctx.config.limits.archiveEntries,
      },
    },
    (location, error) => {
      summary.rejected.push({ location, code: error.code, message: error.message });
      service.metrics.write(run.vendor, run.tenant, 'reject');
      service.metrics.violation(run.vendor, run.tenant, error.code);
    },
  );
}

export async function runConnector(ctx: Ctx, service: AocService, run: ConnectorRun): Promise<ConnectorRunSummary> {
  const kind = run.connector ?? detectConnector(run.input);
  const connector = connectorFor(kind);
  const state = run.restart ? undefined : await ctx.db.transaction((tx) => loadCursor(tx, run), { tenant: run.tenant });
  const summary: ConnectorRunSummary = {
    vendor: run.vendor,
    input: run.input,
    connector: kind,
    fetched: 0,
    written: 0,
    noop: 0,
    rejected: [],
    cursor: state?.cursor ?? null,
  };
  const batchSize = ctx.config.aoc.batchSize;
  const defaults = { connector: connector.name, version: connector.version };
  const writer = createBatchWriter(ctx, service, run, summary);
  try {
    let fetchMark = performance.now();
    for await (const fetched of documentsOf(ctx, service, run, connector, summary)) {
      service.metrics.latency(run.vendor, run.tenant, 'fetch', (performance.now() - fetchMark) / 1000);
      summary.fetched++;
      const doc = documentFromFetched(fetched, run.vendor, connector.name, run.kind);
      writer.add(await service.prepare(run.tenant, doc, defaults), fetched.cursor);
      if (writer.pending >= batchSize) {
        await writer.ready();
        writer.flush();
      }
      fetchMark = performance.now();
    }
    if (writer.pending > 0) {
      await writer.ready();
      writer.flush();
    }
    await writer.settled();
  } catch (error) {
    await writer.settled().catch(() => undefined);
    await ctx.db
      .transaction((tx) => saveCursor(tx, run, summary.cursor, (error as Error).message), { tenant: run.tenant })
      .catch(() => undefined);
    throw error;
  }
  return summary;
}

/** One queue per configured source (pg-boss keeps one schedule per queue); defined in every target. */
export async function defineConnectorQueues(queue: JobQueue, ctx: Ctx): Promise<void> {
  for (const [vendor, source] of configuredSources(ctx.config)) {
    if (source.input) await queue.define(connectorQueue(vendor), { policy: 'singleton' });
  }
}

/** The workers of the configured sources, each on its cron. */
export async function registerConnectorJobs(queue: JobQueue, ctx: Ctx, service: AocService): Promise<void> {
  for (const [vendor, source] of configuredSources(ctx.config)) {
    if (!source.input) continue;
    const name = connectorQueue(vendor);
    await queue.work<{ restart?: boolean }>(name, async (job) => {
      const summary = await runConnector(ctx, service, {
        tenant: source.tenant,
        vendor,
        input: source.input,
        kind: source.kind,
        restart: job.data?.restart === true,
      });
      ctx.logger.info(
        {
          vendor,
          fetched: summary.fetched,
          written: summary.written,
          noop: summary.noop,
          rejected: summary.rejected.length,
        },
        'connector run finished',
      );
      return summary;
    });
    await queue.schedule(name, source.schedule, {});
  }
}
