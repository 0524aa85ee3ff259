// SPDX-License-Identifier: Apache-2.0
// AOC HTTP routes: ingest (one raw document, or an NDJSON batch of envelopes), read the raw stores
// back byte for byte, revision history, cross-source linkset queries, and verification.

import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Errors, type JsonLimits, lookupError, parseJsonWithLimits, StellaError } from '@stella/core';
import { type Ctx, decodeCursor, encodeCursor, type HttpApp } from '@stella/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { AocErrors } from '../errors.ts';
import type { DocumentKind } from '../formats/types.ts';
import { type RawStore, storeFor } from '../ingest/envelope.ts';
import { violationError } from '../ingest/guard.ts';
import { documentLimitsOf, type IngestDocument, type WriteResult } from '../ingest/prepare.ts';
import { type AocService, type Rejected, rejectionError } from '../service.ts';
import { connectorQueue } from '../sources/runner.ts';
import { configuredSources, sourceSettings } from '../sources/settings.ts';
import { linksetGroups } from '../sql/linksets.ts';
import { chainOf, type EnvelopeRow, envelopeFromRow, getRaw, listRaw } from '../sql/raw.ts';
import { runVerify, VerifyRequestSchema } from '../verify/run.ts';

export const ENVELOPE_CONTENT_TYPE = 'application/vnd.stella.aoc-envelope+json';
const RAW_TYPES = [
  'application/json',
  'application/csaf+json',
  'application/vnd.cyclonedx+json',
  'application/openvex+json',
];

const WriteResultSchema = Type.Object({
  id: Type.String(),
  store: Type.String(),
  result: Type.Union([Type.Literal('ok'), Type.Literal('noop')]),
  head: Type.Boolean({ description: 'false for a no-op whose content is an earlier revision (an upstream revert)' }),
  revision: Type.Integer(),
  supersedes: Type.Union([Type.String(), Type.Null()]),
  contentHash: Type.String(),
  location: Type.Optional(Type.String()),
});

const ListQuery = Type.Object({
  purl: Type.Optional(Type.String({ description: 'Exact purl, or a version-less purl to match every version' })),
  alias: Type.Optional(Type.String({ description: 'Any vulnerability id in the linkset (CVE, GHSA, GO-, …)' })),
  cve: Type.Optional(Type.String({ pattern: '^CVE-\\d{4}-\\d{4,}$' })),
  source: Type.Optional(Type.String({ description: 'Source vendor' })),
  upstream_id: Type.Optional(Type.String()),
  format: Type.Optional(Type.String()),
  since: Type.Optional(Type.String({ format: 'date-time' })),
  history: Type.Optional(Type.Boolean({ default: false, description: 'Include superseded revisions' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  cursor: Type.Optional(Type.String()),
});

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A raw document in the body; provenance in X-Stella-* headers. */
function documentFromHeaders(request: FastifyRequest, body: Buffer, kind: DocumentKind): IngestDocument {
  const source: Record<string, string> = {};
  const upstream: Record<string, string> = {};
  const set = (target: Record<string, string>, key: string, name: string) => {
    const value = header(request, name);
    if (value !== undefined) target[key] = value;
  };
  set(source, 'vendor', 'x-stella-source-vendor');
  set(source, 'connector', 'x-stella-source-connector');
  set(source, 'version', 'x-stella-source-version');
  set(source, 'stream', 'x-stella-source-stream');
  set(upstream, 'upstream_id', 'x-stella-upstream-id');
  set(upstream, 'document_version', 'x-stella-document-version');
  set(upstream, 'retrieved_at', 'x-stella-retrieved-at');
  set(upstream, 'content_hash', 'x-stella-content-hash');
  const sig = header(request, 'x-stella-signature');
  const sigFormat = header(request, 'x-stella-signature-format') ?? 'pgp';
  return {
    bytes: body,
    proposal: { source, ...(Object.keys(upstream).length ? { upstream } : {}) },
    kind,
    signature: sig ? { format: sigFormat === 'dsse' ? 'dsse' : 'pgp', bytes: Buffer.from(sig, 'base64') } : undefined,
  };
}

/**
 * An envelope proposal `{source, upstream?, content: {raw, encoding?}}`. `raw` is the document as a
 * string (utf8 or base64, which keeps the upstream bytes exactly) or as JSON, which is stored as its
 * compact serialisation.
 */
export function documentFromEnvelope(value: unknown, kind: DocumentKind | 'auto', location?: string): IngestDocument {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StellaError(Errors.malformedBody, `${location ? `${location}: ` : ''}an envelope must be a JSON object`);
  }
  const proposal = value as Record<string, unknown>;
  const content = proposal.content as Record<string, unknown> | undefined;
  if (typeof content !== 'object' || content === null || !('raw' in content)) {
    throw new StellaError(Errors.malformedBody, `${location ? `${location}: ` : ''}content.raw is required`);
  }
  const raw = content.raw;
  if (Array.isArray(raw)) {
    // The guard's table: several documents fused into one record is a merge attempt.
    throw violationError([
      {
        code: AocErrors.mergeAttempt.code,
        path: '/content/raw',
        message: `${location ? `${location}: ` : ''}content.raw is a list of documents: ingest each on its own`,
      },
    ]);
  }
  if (typeof raw !== 'string' && (typeof raw !== 'object' || raw === null)) {
    throw new StellaError(
      AocErrors.malformedDocument,
      `${location ? `${location}: ` : ''}content.raw must be the document as a string (utf8 or base64) or a JSON object, not ${raw === null ? 'null' : typeof raw}`,
    );
  }
  const bytes =
    typeof raw === 'string'
      ? Buffer.from(raw, content.encoding === 'base64' ? 'base64' : 'utf8')
      : Buffer.from(JSON.stringify(raw), 'utf8');
  const upstream = proposal.upstream as Record<string, unknown> | undefined;
  const sig =
    upstream && typeof upstream.signature === 'object' ? (upstream.signature as Record<string, unknown>) : undefined;
  const { raw: _raw, encoding: _encoding, ...contentRest } = content;
  let cleaned: Record<string, unknown> = { ...proposal, content: contentRest };
  let signature: IngestDocument['signature'];
  if (sig && typeof sig.sig === 'string') {
    signature = { format: sig.format === 'dsse' ? 'dsse' : 'pgp', bytes: Buffer.from(sig.sig, 'base64') };
    const { signature: _s, ...upstreamRest } = upstream as Record<string, unknown>;
    cleaned = { ...cleaned, upstream: upstreamRest };
  }
  return { bytes, proposal: cleaned, kind, signature, location };
}

export function registerAocRoutes(app: HttpApp, ctx: Ctx, service: AocService): void {
  const documentBytes = ctx.config.limits.documentBytes;
  const batchBytes = ctx.config.limits.requestBodyBytes;
  const envelopeLimits = envelopeJsonLimits(documentLimitsOf(ctx.config.limits).json, documentBytes);

  const answer = (reply: FastifyReply, results: WriteResult[], kind: DocumentKind) => {
    const r = results[0]!;
    reply.header('location', `/${kind === 'vex' ? 'vex' : 'advisories'}/raw/${encodeURIComponent(r.id)}`);
    reply.code(r.result === 'ok' ? 201 : 200);
    return r;
  };

  app.register(async (scope) => {
    // The body is the record: keep the exact bytes instead of parsing JSON. Content-Encoding: gzip is
    // inflated as a stream on zlib's thread pool (a synchronous inflate blocked the event loop for
    // seconds), under the route's cap on what was sent and limits.decompressedBytes on what it expands to.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      [...RAW_TYPES, ENVELOPE_CONTENT_TYPE, 'application/x-ndjson'],
      (request, payload, done) => {
        const single = !request.routeOptions.url?.endsWith('/batch');
        readBody(request, payload, {
          sentBytes: request.routeOptions.bodyLimit ?? batchBytes,
          // A single document inflating past its own cap is that document's refusal, not the body's.
          expandedBytes: single
            ? Math.min(documentBytes + 1, ctx.config.limits.decompressedBytes)
            : ctx.config.limits.decompressedBytes,
          tooLarge: single
            ? () =>
                new StellaError(
                  AocErrors.documentTooLarge,
                  `gzip body expands beyond the document cap of ${documentBytes} bytes (limits.documentBytes)`,
                )
            : () =>
                new StellaError(
                  Errors.bodyTooLarge,
                  `gzip body expands beyond limits.decompressedBytes (${ctx.config.limits.decompressedBytes})`,
                ),
        }).then(
          (body) => done(null, body),
          (error: Error) => done(error, undefined),
        );
      },
    );

    for (const kind of ['advisory', 'vex'] as const) {
      const scopes = [kind === 'vex' ? 'vex:ingest' : 'advisory:ingest'];
      scope.post(
        `/ingest/${kind}`,
        {
          bodyLimit: Math.max(documentBytes + 1, 1024),
          config: { auth: { scopes }, idempotent: true },
          schema: {
            tags: ['aoc'],
            summary: `Ingest one raw ${kind === 'vex' ? 'VEX' : 'advisory'} document verbatim`,
            description:
              `Body: the upstream document (${RAW_TYPES.join(', ')}) with provenance in X-Stella-Source-Vendor (required), ` +
              'X-Stella-Source-Connector, X-Stella-Source-Version, X-Stella-Source-Stream, X-Stella-Upstream-Id, X-Stella-Document-Version, ' +
              'X-Stella-Retrieved-At, X-Stella-Content-Hash, X-Stella-Signature (base64 detached signature) and X-Stella-Signature-Format (pgp|dsse); ' +
              `or an envelope (${ENVELOPE_CONTENT_TYPE}). 201 for a new revision, 200 when the content equals the current head (no-op).`,
            response: { 200: WriteResultSchema, 201: WriteResultSchema },
          },
        },
        async (request, reply) => {
          const tenant = request.tenant!;
          const body = request.body as Buffer;
          const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
          let doc: IngestDocument;
          if (contentType === ENVELOPE_CONTENT_TYPE) {
            doc = documentFromEnvelope(parseEnvelope(body, envelopeLimits), kind);
          } else if (contentType === 'application/x-ndjson') {
            throw new StellaError(Errors.unsupportedMediaType, `send NDJSON batches to /ingest/${kind}/batch`);
          } else {
            doc = documentFromHeaders(request, body, kind);
          }
          const { results, rejected } = await service.ingest(tenant, [doc], {
            initiator: `api:${request.principal?.subject ?? 'unknown'}`,
            connector: 'api',
            version: '1',
            atomic: true,
          });
          if (rejected.length) throw rejectionError(rejected);
          return answer(reply, results, kind);
        },
      );

      scope.post(
        `/ingest/${kind}/batch`,
        {
          bodyLimit: batchBytes,
          config: { auth: { scopes }, idempotent: true },
          schema: {
            tags: ['aoc'],
            summary: `Ingest an NDJSON batch of ${kind} envelopes, all or nothing`,
            description:
              'Content-Type application/x-ndjson; one envelope per line ({source, upstream?, content: {raw, encoding?}}). ' +
              'Each line is judged on its own: when any line is rejected nothing is written and the problem lists every ' +
              'violation with its line (`location: "line N"`), so a client can resend the others (`stella sources ingest` does).',
            response: {
              200: Type.Object({
                written: Type.Integer(),
                noop: Type.Integer(),
                results: Type.Array(WriteResultSchema),
              }),
            },
          },
        },
        async (request) => {
          const tenant = request.tenant!;
          const body = request.body as Buffer;
          const lineCap = ctx.config.limits.ndjsonLineBytes;
          // A line that cannot be read is refused on its own, with its line number, like a guard violation.
          const docs: Array<IngestDocument | Rejected> = [];
          let lineNo = 0;
          for (const line of body.toString('utf8').split('\n')) {
            lineNo++;
            if (!line.trim()) continue;
            const location = `line ${lineNo}`;
            try {
              if (Buffer.byteLength(line) > lineCap) {
                throw new StellaError(
                  Errors.bodyTooLarge,
                  `${location} is longer than limits.ndjsonLineBytes (${lineCap})`,
                );
              }
              docs.push(
                documentFromEnvelope(parseEnvelope(Buffer.from(line), envelopeLimits, location), kind, location),
              );
            } catch (error) {
              if (!(error instanceof StellaError)) throw error;
              docs.push(lineRejection(error, location));
            }
          }
          if (docs.length === 0) throw new StellaError(Errors.malformedBody, 'the batch is empty');
          const { results, rejected } = await service.ingest(tenant, docs, {
            initiator: `api:${request.principal?.subject ?? 'unknown'}`,
            connector: 'api',
            version: '1',
            atomic: true,
          });
          if (rejected.length) throw rejectionError(rejected);
          const written = results.filter((r) => r.result === 'ok').length;
          return { written, noop: results.length - written, results };
        },
      );
    }
  });

  for (const kind of ['advisory', 'vex'] as const) {
    const base = kind === 'vex' ? '/vex/raw' : '/advisories/raw';
    const store = storeFor(kind);
    const scopes = [kind === 'vex' ? 'vex:read' : 'advisory:read'];

    app.get(
      base,
      {
        config: { auth: { scopes } },
        schema: {
          tags: ['aoc'],
          summary: `List raw ${kind} records (heads unless history=true), oldest ingest first`,
          querystring: ListQuery,
        },
      },
      async (request) => {
        const q = request.query as Record<string, string | number | boolean | undefined>;
        const limit = Number(q.limit ?? 100);
        const rows = await ctx.db.transaction(
          (tx) =>
            listRaw(tx, store, {
              purl: q.purl as string | undefined,
              alias: (q.cve ?? q.alias) as string | undefined,
              vendor: q.source as string | undefined,
              upstreamId: q.upstream_id as string | undefined,
              format: q.format as string | undefined,
              since: q.since as string | undefined,
              history: q.history === true,
              after: decodeCursor(q.cursor as string | undefined),
              limit: limit + 1,
            }),
          { tenant: request.tenant! },
        );
        const page = rows.slice(0, limit);
        const last = page.at(-1);
        const items = page.map(withoutRaw);
        return {
          items,
          nextCursor:
            rows.length > limit && last ? encodeCursor(new Date(last.ingested_at).toISOString(), last.id) : null,
        };
      },
    );

    app.get(
      `${base}/history`,
      {
        config: { auth: { scopes } },
        schema: {
          tags: ['aoc'],
          summary: `Every revision of one upstream ${kind} document, first to last`,
          querystring: Type.Object({ source: Type.String(), upstream_id: Type.String() }),
        },
      },
      async (request) => {
        const q = request.query as { source: string; upstream_id: string };
        const rows = await ctx.db.transaction((tx) => chainOf(tx, store, q.source, q.upstream_id), {
          tenant: request.tenant!,
        });
        if (rows.length === 0) {
          throw new StellaError(Errors.notFound, `no ${kind} ${q.upstream_id} from source ${q.source}`);
        }
        return {
          source: q.source,
          upstream_id: q.upstream_id,
          head: rows.at(-1)!.id,
          revisions: rows.map(withoutRaw),
        };
      },
    );

    app.get(
      `${base}/:id`,
      {
        config: { auth: { scopes } },
        schema: {
          tags: ['aoc'],
          summary: `One raw ${kind} record: the envelope with the upstream document in content.raw`,
          params: Type.Object({ id: Type.String() }),
        },
      },
      async (request, reply) => {
        const row = await readRow(ctx, store, request);
        reply.header('etag', `"${row.content_hash}"`);
        return envelopeFromRow(row, row.raw === undefined ? undefined : JSON.parse(row.raw.replace(/^\uFEFF/, '')));
      },
    );

    app.get(
      `${base}/:id/raw`,
      {
        config: { auth: { scopes } },
        schema: {
          tags: ['aoc'],
          summary: `The upstream ${kind} document exactly as received (byte-identical; ETag is its sha256)`,
          params: Type.Object({ id: Type.String() }),
        },
      },
      async (request, reply) => {
        const row = await readRow(ctx, store, request);
        const bytes = Buffer.from(row.raw ?? '', 'utf8');
        reply.header('etag', `"${row.content_hash}"`);
        reply.header('x-stella-content-hash', row.content_hash);
        reply.type('application/json');
        return reply.send(bytes);
      },
    );
  }

  app.get(
    '/v1/lnm/linksets',
    {
      config: { auth: { scopes: ['advisory:read'] } },
      schema: {
        tags: ['aoc'],
        summary: 'Link-not-merge: every source that names the same vulnerability or package, side by side',
        querystring: Type.Object({
          cve: Type.Optional(Type.String()),
          ghsa: Type.Optional(Type.String()),
          alias: Type.Optional(Type.String()),
          purl: Type.Optional(Type.String()),
          source: Type.Optional(Type.String()),
          includeVex: Type.Optional(Type.Boolean({ default: true })),
          page: Type.Optional(Type.Integer({ minimum: 1, default: 1 })),
          pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
        }),
      },
    },
    async (request) => {
      const q = request.query as Record<string, string | number | boolean | undefined>;
      const alias = (q.cve ?? q.ghsa ?? q.alias) as string | undefined;
      const purl = q.purl as string | undefined;
      if (!alias && !purl) throw new StellaError(Errors.validation, 'give cve, ghsa, alias or purl');
      const includeVex = q.includeVex !== false && (request.principal?.scopes.has('vex:read') ?? false);
      return ctx.db.transaction(
        (tx) =>
          linksetGroups(tx, {
            alias,
            purl,
            vendor: q.source as string | undefined,
            includeVex,
            page: Number(q.page ?? 1),
            pageSize: Number(q.pageSize ?? 50),
          }),
        { tenant: request.tenant! },
      );
    },
  );

  app.get(
    '/aoc/sources',
    {
      config: { auth: { scopes: ['advisory:read'] } },
      schema: {
        tags: ['aoc'],
        summary: 'Configured sources of this tenant with their connector state (cursor, last run, last error)',
      },
    },
    async (request) => {
      const tenant = request.tenant!;
      const { rows } = await ctx.db.transaction(
        (tx) =>
          tx.query<{
            source_vendor: string;
            input: string;
            cursor: string | null;
            updated_at: Date;
            last_error: string | null;
          }>(
            'select source_vendor, input, cursor, updated_at, last_error from aoc_connector_state order by source_vendor, input',
          ),
        { tenant },
      );
      const sources = configuredSources(ctx.config)
        .filter(([, s]) => s.tenant === tenant)
        .map(([vendor, s]) => {
          const state = rows.find((r) => r.source_vendor === vendor && r.input === s.input);
          return {
            vendor,
            input: s.input,
            schedule: s.input ? s.schedule : null,
            signature: s.signature,
            kind: s.kind,
            cursor: state?.cursor ?? null,
            lastRunAt: state ? new Date(state.updated_at).toISOString() : null,
            lastError: state?.last_error ?? null,
          };
        });
      return { sources };
    },
  );

  app.post(
    '/aoc/sources/:vendor/run',
    {
      config: { auth: { scopes: ['advisory:ingest'] } },
      schema: {
        tags: ['aoc'],
        summary: 'Queue a run of a configured source now (resumes from its cursor unless restart is true)',
        params: Type.Object({ vendor: Type.String() }),
        body: Type.Optional(Type.Object({ restart: Type.Optional(Type.Boolean()) }, { additionalProperties: false })),
        response: { 202: Type.Object({ vendor: Type.String(), jobId: Type.Union([Type.String(), Type.Null()]) }) },
      },
    },
    async (request, reply) => {
      const { vendor } = request.params as { vendor: string };
      const source = ctx.config.aoc.sources[vendor] ? sourceSettings(ctx.config.aoc.sources[vendor]) : undefined;
      if (!source?.input || source.tenant !== request.tenant) {
        throw new StellaError(
          Errors.notFound,
          `no scheduled source ${vendor} for this tenant (aoc.sources.${vendor}.input in stella.yaml)`,
        );
      }
      const body = (request.body ?? {}) as { restart?: boolean };
      const jobId = await ctx.queue.send(connectorQueue(vendor), { restart: body.restart === true });
      reply.code(202);
      return { vendor, jobId };
    },
  );

  app.post(
    '/aoc/verify',
    {
      config: { auth: { scopes: ['aoc:verify', 'advisory:read'] } },
      schema: {
        tags: ['aoc'],
        summary: 'Re-check stored raw rows: hashes of the stored bytes, forbidden keys, supersedes chains',
        body: VerifyRequestSchema,
      },
    },
    async (request) => {
      const initiator = header(request, 'x-stella-initiator') ?? 'api';
      const includeVex = request.principal?.scopes.has('vex:read') ?? false;
      return runVerify(ctx, service.metrics, request.tenant!, request.body as never, {
        initiator: ['ui', 'cli', 'api', 'scheduled'].includes(initiator) ? initiator : 'api',
        includeVex,
      });
    },
  );
}

async function readRow(ctx: Ctx, store: RawStore, request: FastifyRequest) {
  const { id } = request.params as { id: string };
  const row = await ctx.db.transaction((tx) => getRaw(tx, store, id), { tenant: request.tenant! });
  if (!row) throw new StellaError(Errors.notFound, `no raw record ${id}`);
  return row;
}

/** The envelope for listings: everything but the upstream body (fetch `/raw` for that). */
function withoutRaw(row: EnvelopeRow) {
  const { content, ...rest } = envelopeFromRow(row);
  const { raw: _raw, ...contentWithoutRaw } = content;
  return { ...rest, content: contentWithoutRaw };
}

/**
 * The JSON caps for an envelope: those of any JSON, except that `content.raw` may carry a whole document
 * as one string (base64 is 4/3 of it), which limits.documentBytes caps instead.
 */
function envelopeJsonLimits(json: JsonLimits, documentBytes: number): JsonLimits {
  return { ...json, maxStringLength: Math.max(json.maxStringLength, Math.ceil((documentBytes * 4) / 3) + 4) };
}

function parseEnvelope(body: Buffer, limits: JsonLimits, location?: string): unknown {
  try {
    return parseJsonWithLimits(body.toString('utf8'), limits);
  } catch (error) {
    const coded = error as StellaError;
    const message = coded.code === Errors.malformedBody.code ? `envelope is not JSON: ${coded.message}` : coded.message;
    throw new StellaError(
      lookupError(coded.code) ?? Errors.malformedBody,
      location ? `${location}: ${message}` : message,
      {
        cause: error,
        details: coded.details,
      },
    );
  }
}

/** An NDJSON line refused before the guard: reported like a guard rejection, with its line. */
function lineRejection(error: StellaError, location: string): Rejected {
  const violations = (error.details?.violations as Rejected['violations'] | undefined) ?? [
    { code: error.code, path: '', message: error.message },
  ];
  return { ok: false, error, violations, vendor: 'unknown', location };
}

interface BodyCaps {
  /** Most bytes read off the wire (the route's bodyLimit). */
  sentBytes: number;
  /** Most bytes a gzip body may expand to. */
  expandedBytes: number;
  tooLarge: () => StellaError;
}

/**
 * Reads a request body as sent, or inflated as a stream when it is gzip, each under its cap. On a breach
 * the request stream is let go of, not destroyed: destroying it would reset the socket before the 413 is
 * written. The platform drains what is left once the refusal is sent (drainRefusedBody).
 */
function readBody(request: FastifyRequest, payload: Readable, caps: BodyCaps): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  const sentTooLarge = () =>
    new StellaError(Errors.bodyTooLarge, `request body is larger than ${caps.sentBytes} bytes for this route`);
  if (Number.isFinite(declared) && declared > caps.sentBytes) return Promise.reject(sentTooLarge());
  const encoding = String(request.headers['content-encoding'] ?? 'identity')
    .trim()
    .toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== '') {
    return Promise.reject(
      new StellaError(
        Errors.unsupportedMediaType,
        `Content-Encoding ${encoding.slice(0, 32)} is not supported: send gzip or no encoding`,
      ),
    );
  }
  const gunzip = encoding === 'gzip' ? createGunzip() : undefined;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let sent = 0;
    let kept = 0;
    let settled = false;
    const finish = (error: Error | undefined) => {
      if (settled) return;
      settled = true;
      payload.off('data', onData);
      payload.off('end', onEnd);
      payload.off('error', onError);
      if (gunzip && error) gunzip.destroy();
      if (error) reject(error);
      else resolve(Buffer.concat(chunks));
    };
    const keep = (chunk: Buffer) => {
      kept += chunk.length;
      if (kept > caps.expandedBytes) return finish(caps.tooLarge());
      chunks.push(chunk);
    };
    const onData = (chunk: Buffer) => {
      sent += chunk.length;
      if (sent > caps.sentBytes) return finish(sentTooLarge());
      if (!gunzip) return keep(chunk);
      // Backpressure: zlib inflates on the thread pool; the socket waits while it catches up.
      if (!gunzip.write(chunk)) {
        payload.pause();
        gunzip.once('drain', () => payload.resume());
      }
    };
    const onEnd = () => (gunzip ? gunzip.end() : finish(undefined));
    const onError = (error: Error) => finish(error);
    if (gunzip) {
      gunzip.on('data', keep);
      gunzip.on('end', () => finish(undefined));
      gunzip.on('error', (error: Error) =>
        finish(
          new StellaError(
            AocErrors.malformedDocument,
            `gzip body cannot be decompressed: ${error.message} (truncated or not gzip)`,
            { cause: error },
          ),
        ),
      );
    }
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
  });
}
