// SPDX-License-Identifier: Apache-2.0
// Runs a connector inside the server: fetch → guard → write in batches, saving the connector's
// cursor after each committed batch so an interrupted run resumes where it stopped. A crash between
// a batch and its cursor only repeats that batch, which idempotency turns into no-ops. Sources with
// an `input` in config are scheduled with pg-boss on their cron; POST /aoc/sources/{vendor}/run
// queues a run now.
import type { Ctx, JobQueue } from '@stella/platform';
import { type ConnectorKind, connectorFor, detectConnector, type FetchedDocument } from '../connectors/index.ts';
import type { DocumentKind } from '../formats/types.ts';
import type { IngestDocument } from '../ingest/document.ts';
import type { PreparedDocument } from '../ingest/prepare.ts';
import type { AocService, Rejected } from '../service.ts';
import { STELLA_VERSION } from '../service.ts';
import { loadCursor, saveCursor } from '../sql/connector-state.ts';
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
  const initiator = `connector:${run.vendor}`;
  const defaults = { connector: connector.name, version: connector.version };
  let batch: PreparedDocument[] = [];
  let rejected: Rejected[] = [];
  let batchCursor: string | null = null;
  // Batch n commits while batch n+1 is read and guarded; batches commit in order, each with its
  // cursor in the same transaction, so a crash repeats nothing and skips nothing.
  let writing: Promise<void> = Promise.resolve();
  const flush = () => {
    const docs = batch;
    const failed = rejected;
    const cursor = batchCursor;
    batch = [];
    rejected = [];
    const previous = writing;
    writing = (async () => {
      await previous;
      await service.recordRejections(run.tenant, failed, initiator);
      if (docs.length > 0) {
        const results = await service.write(run.tenant, docs, {
          initiator,
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
    })();
    // Surfaced by the next await of `writing`; never an unhandled rejection in between.
    writing.catch(() => {});
  };
  try {
    let fetchMark = performance.now();
    const documents = fetchDocuments(
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
    for await (const fetched of documents) {
      service.metrics.latency(run.vendor, run.tenant, 'fetch', (performance.now() - fetchMark) / 1000);
      summary.fetched++;
      const prepared = await service.prepare(
        run.tenant,
        documentFromFetched(fetched, run.vendor, connector.name, run.kind),
        defaults,
      );
      if (prepared.ok) batch.push(prepared.doc);
      else {
        rejected.push(prepared);
        summary.rejected.push({
          location: prepared.location,
          code: prepared.error.code,
          message: prepared.error.message,
        });
      }
      batchCursor = fetched.cursor;
      if (batch.length + rejected.length >= batchSize) {
        await writing;
        flush();
      }
      fetchMark = performance.now();
    }
    if (batch.length + rejected.length > 0) flush();
    await writing;
  } catch (error) {
    await writing.catch(() => undefined);
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
