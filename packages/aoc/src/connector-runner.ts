// SPDX-License-Identifier: Apache-2.0
// Runs a connector inside the server: fetch → guard → write in batches, saving the connector's
// cursor after each committed batch so an interrupted run resumes where it stopped. A crash between
// a batch and its cursor only repeats that batch, which idempotency turns into no-ops. Sources with
// an `input` in config are scheduled with pg-boss on their cron; POST /aoc/sources/{vendor}/run
// queues a run now.
import type { Ctx, JobQueue } from '@stella/platform';
import { type ConnectorKind, connectorFor, detectConnector, type FetchedDocument } from './connectors/index.ts';
import { fetchDocuments } from './fetch.ts';
import type { DocumentKind } from './formats/types.ts';
import type { IngestDocument } from './ingest.ts';
import type { AocService } from './service.ts';
import { STELLA_VERSION } from './service.ts';
import { configuredSources } from './sources.ts';

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
  const state = run.restart
    ? undefined
    : await ctx.db.transaction(
        async (tx) =>
          (
            await tx.query<{ cursor: string | null }>(
              'select cursor from aoc_connector_state where tenant = $1 and source_vendor = $2 and input = $3',
              [run.tenant, run.vendor, run.input],
            )
          ).rows[0],
        { tenant: run.tenant },
      );
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
  let batch: IngestDocument[] = [];
  let batchCursor: string | null = null;
  const flush = async () => {
    if (batch.length === 0) return;
    const { results, rejected } = await service.ingest(run.tenant, batch, {
      initiator: `connector:${run.vendor}`,
      connector: connector.name,
      version: connector.version,
      atomic: false,
    });
    for (const r of results) {
      if (r.result === 'ok') summary.written++;
      else summary.noop++;
    }
    for (const r of rejected) {
      summary.rejected.push({ location: r.location, code: r.error.code, message: r.error.message });
    }
    summary.cursor = batchCursor;
    await saveCursor(ctx, run, batchCursor, null);
    batch = [];
    run.onProgress?.({
      done: summary.fetched,
      written: summary.written,
      noop: summary.noop,
      rejected: summary.rejected.length,
    });
  };
  try {
    const fetchStarted = performance.now();
    let fetchMark = fetchStarted;
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
      batch.push(documentFromFetched(fetched, run.vendor, connector.name, run.kind));
      batchCursor = fetched.cursor;
      if (batch.length >= batchSize) await flush();
      fetchMark = performance.now();
    }
    await flush();
  } catch (error) {
    await saveCursor(ctx, run, summary.cursor, (error as Error).message).catch(() => undefined);
    throw error;
  }
  return summary;
}

async function saveCursor(ctx: Ctx, run: ConnectorRun, cursor: string | null, lastError: string | null): Promise<void> {
  await ctx.db.transaction(
    (tx) =>
      tx.query(
        `insert into aoc_connector_state (tenant, source_vendor, input, cursor, updated_at, last_error)
         values ($1, $2, $3, $4, now(), $5)
         on conflict (tenant, source_vendor, input) do update
           set cursor = coalesce(excluded.cursor, aoc_connector_state.cursor), updated_at = now(), last_error = excluded.last_error`,
        [run.tenant, run.vendor, run.input, cursor, lastError],
      ),
    { tenant: run.tenant },
  );
}

export function connectorQueue(vendor: string): string {
  return `aoc.connector.${vendor}`;
}

/** One queue per configured source (pg-boss keeps one schedule per queue), on its cron. */
export async function registerConnectorJobs(queue: JobQueue, ctx: Ctx, service: AocService): Promise<void> {
  for (const [vendor, source] of configuredSources(ctx.config)) {
    if (!source.input) continue;
    const name = connectorQueue(vendor);
    await queue.define(name, { policy: 'singleton' });
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
