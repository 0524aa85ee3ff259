// SPDX-License-Identifier: Apache-2.0
// The AOC room's services, built once per process from the context and shared by routes, jobs and
// the connector runner: prepare (guard) documents, write the accepted ones, record rejections; and
// what the routes ask for besides: uploads decoded and ingested, reads, sources, verification.
import type { Ctx } from '@stella/platform';
import type { IngestDocument } from './ingest/document.ts';
import { documentLimitsOf } from './ingest/limits.ts';
import { type Prepared, type PreparedDocument, prepareDocument, type SignatureChecker } from './ingest/prepare.ts';
import type { Rejected } from './ingest/rejection.ts';
import { type WriteContext, type WriteResult, writeDocuments } from './ingest/store.ts';
import { createUploadIngest, type UploadIngest } from './ingest/upload.ts';
import { type AocMetrics, createAocMetrics } from './metrics.ts';
import { createRawReads, type RawReads } from './read/records.ts';
import { createSignatureChecker } from './signatures/checker.ts';
import { createSourceControl, type SourceControl } from './sources/control.ts';
import { runVerify, type VerifyReport, type VerifyRequest, verifyInitiator } from './verify/run.ts';

export type { Rejected };

export interface AocService extends UploadIngest {
  metrics: AocMetrics;
  prepare(tenant: string, doc: IngestDocument, defaults: { connector: string; version: string }): Promise<Prepared>;
  /** Writes prepared documents in one transaction. */
  write(tenant: string, docs: readonly PreparedDocument[], context: WriteContext): Promise<WriteResult[]>;
  /** Puts rejected documents on the timeline (one event per call). */
  recordRejections(tenant: string, rejected: readonly Rejected[], initiator: string): Promise<void>;
  /**
   * Guards every document and writes the accepted ones in batches; with `atomic`, one rejection writes
   * nothing. Items already refused by the caller (an unreadable NDJSON line) are reported in their place.
   */
  ingest(
    tenant: string,
    docs: ReadonlyArray<IngestDocument | Rejected>,
    context: { initiator: string; connector: string; version: string; atomic: boolean },
  ): Promise<{ results: WriteResult[]; rejected: Rejected[] }>;
  /** The read API's answers from the raw stores. */
  reads: RawReads;
  /** The tenant's configured sources: their state, and runs queued now. */
  sources: SourceControl;
  /** Re-checks stored rows; an initiator other than ui, cli, api or scheduled is recorded as api. */
  verify(
    tenant: string,
    request: Partial<VerifyRequest>,
    options: { initiator: string | undefined; includeVex: boolean },
  ): Promise<VerifyReport>;
}

export function createAocService(ctx: Ctx, options: { checkSignature?: SignatureChecker } = {}): AocService {
  const metrics = createAocMetrics(ctx.metrics, ctx.config.aoc.metricsEnabled, {
    sources: Object.keys(ctx.config.aoc.sources),
  });
  const checkSignature = options.checkSignature ?? createSignatureChecker(ctx.config.aoc.sources);
  const service: AocService = {
    metrics,
    prepare: (tenant, doc, defaults) =>
      prepareDocument(doc, {
        tenant,
        guardEnabled: ctx.config.aoc.guardEnabled,
        documentBytes: ctx.config.limits.documentBytes,
        limits: documentLimitsOf(ctx.config.limits),
        defaults,
        clock: ctx.clock,
        checkSignature,
        metrics,
      }),
    write: (tenant, docs, context) =>
      writeDocuments({ db: ctx.db, timeline: ctx.timeline, metrics }, tenant, docs, context),
    async recordRejections(tenant, rejected, initiator) {
      if (rejected.length === 0) return;
      await ctx.timeline.record(tenant, {
        category: 'aoc',
        kind: 'aoc.violation',
        details: {
          initiator,
          // Bounded: a refused document may carry megabyte keys or ids, which the messages may quote.
          rejected: rejected.slice(0, 100).map((r) => ({
            vendor: clip(r.vendor),
            location: r.location === undefined ? undefined : clip(r.location),
            violations: r.violations
              .slice(0, 20)
              .map((v) => ({ code: v.code, path: clip(v.path), message: clip(v.message) })),
          })),
          truncated: rejected.length > 100,
        },
      });
    },
    async ingest(tenant, docs, context) {
      const prepared: PreparedDocument[] = [];
      const rejected: Rejected[] = [];
      for (const doc of docs) {
        if ('ok' in doc) {
          metrics.write(doc.vendor, tenant, 'reject');
          for (const v of doc.violations) metrics.violation(doc.vendor, tenant, v.code);
          rejected.push(doc);
          continue;
        }
        const p = await service.prepare(tenant, doc, context);
        if (p.ok) prepared.push(p.doc);
        else rejected.push(p);
      }
      await service.recordRejections(tenant, rejected, context.initiator);
      if (rejected.length > 0 && context.atomic) return { results: [], rejected };
      const results: WriteResult[] = [];
      const batchSize = context.atomic ? Number.POSITIVE_INFINITY : ctx.config.aoc.batchSize;
      for (let i = 0; i < prepared.length; i += batchSize) {
        results.push(
          ...(await service.write(tenant, prepared.slice(i, i + batchSize), { initiator: context.initiator })),
        );
      }
      return { results, rejected };
    },
    ...createUploadIngest(ctx, (tenant, docs, context) => service.ingest(tenant, docs, context)),
    reads: createRawReads(ctx.db),
    sources: createSourceControl(ctx),
    verify: (tenant, request, options) =>
      runVerify(ctx, metrics, tenant, request, {
        initiator: verifyInitiator(options.initiator),
        includeVex: options.includeVex,
      }),
  };
  return service;
}

const MAX_RECORDED_TEXT = 1000;

function clip(text: string): string {
  return text.length > MAX_RECORDED_TEXT ? `${text.slice(0, MAX_RECORDED_TEXT)}…` : text;
}
