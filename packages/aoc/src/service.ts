// SPDX-License-Identifier: Apache-2.0
// The AOC room's services, built once per process from the context and shared by routes, jobs and
// the connector runner: prepare (guard) and write documents, read the stores, verify them.
import { StellaError } from '@stella/core';
import type { Ctx } from '@stella/platform';
import { AocErrors } from './errors.ts';
import {
  type IngestDocument,
  type Prepared,
  type PreparedDocument,
  prepareDocument,
  type SignatureChecker,
  type WriteResult,
  writeDocuments,
} from './ingest.ts';
import { type AocMetrics, createAocMetrics } from './metrics.ts';
import { createSignatureChecker } from './signature-check.ts';

export interface AocService {
  metrics: AocMetrics;
  /** Guards every document; writes the accepted ones in batches. With `atomic`, one rejection writes nothing. */
  ingest(
    tenant: string,
    docs: readonly IngestDocument[],
    context: { initiator: string; connector: string; version: string; atomic: boolean },
  ): Promise<{ results: WriteResult[]; rejected: Extract<Prepared, { ok: false }>[] }>;
  prepare(tenant: string, doc: IngestDocument, defaults: { connector: string; version: string }): Promise<Prepared>;
}

export const STELLA_VERSION = '0.1.0';

export function createAocService(ctx: Ctx, options: { checkSignature?: SignatureChecker } = {}): AocService {
  const metrics = createAocMetrics(ctx.metrics, ctx.config.aoc.metricsEnabled);
  const checkSignature = options.checkSignature ?? createSignatureChecker(ctx.config.aoc.sources);
  const prepare = (tenant: string, doc: IngestDocument, defaults: { connector: string; version: string }) =>
    prepareDocument(doc, {
      tenant,
      guardEnabled: ctx.config.aoc.guardEnabled,
      documentBytes: ctx.config.limits.documentBytes,
      defaults,
      clock: ctx.clock,
      checkSignature,
      metrics,
    });
  return {
    metrics,
    prepare,
    async ingest(tenant, docs, context) {
      const prepared: PreparedDocument[] = [];
      const rejected: Extract<Prepared, { ok: false }>[] = [];
      for (const doc of docs) {
        const p = await prepare(tenant, doc, context);
        if (p.ok) prepared.push(p.doc);
        else rejected.push(p);
      }
      if (rejected.length > 0) {
        await ctx.timeline.record(tenant, {
          category: 'aoc',
          kind: 'aoc.violation',
          details: {
            initiator: context.initiator,
            rejected: rejected.slice(0, 100).map((r) => ({
              vendor: r.vendor,
              location: r.location,
              violations: r.violations.slice(0, 20),
            })),
            truncated: rejected.length > 100,
          },
        });
        if (context.atomic) return { results: [], rejected };
      }
      const results: WriteResult[] = [];
      const batchSize = context.atomic ? Number.POSITIVE_INFINITY : ctx.config.aoc.batchSize;
      for (let i = 0; i < prepared.length; i += batchSize) {
        const batch = prepared.slice(i, i + batchSize);
        results.push(
          ...(await writeDocuments({ db: ctx.db, timeline: ctx.timeline, metrics }, tenant, batch, {
            initiator: context.initiator,
          })),
        );
      }
      return { results, rejected };
    },
  };
}

/** The error to answer for rejected documents: the first one's, with every violation listed. */
export function rejectionError(rejected: readonly Extract<Prepared, { ok: false }>[]): StellaError {
  const first = rejected[0];
  if (!first) throw new Error('rejectionError needs a rejection');
  const violations = rejected.flatMap((r) => r.violations.map((v) => ({ ...v, location: r.location })));
  const def = Object.values(AocErrors).find((d) => d.code === first.error.code) ?? AocErrors.malformedDocument;
  const message =
    rejected.length === 1
      ? first.error.message
      : `${rejected.length} documents rejected; first: ${first.error.message}`;
  return new StellaError(def, message, {
    details: { violations },
  });
}
