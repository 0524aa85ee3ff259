// SPDX-License-Identifier: Apache-2.0
// Ingest routes: one raw document (provenance in X-Stella-* headers) or envelope per request, and
// NDJSON batches of envelopes, all or nothing. Bodies arrive as Buffers from acceptRawBodies.
import type { Config, HttpApp } from '@stella/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { WriteResult } from '../ingest/store.ts';
import { ENVELOPE_CONTENT_TYPE, NDJSON_CONTENT_TYPE, type Upload } from '../ingest/upload.ts';
import type { AocService } from '../service.ts';
import { acceptRawBodies } from './body.ts';
import { KINDS, tags } from './options.ts';
import { header, initiatorOf, tenantOf } from './request.ts';

const RAW_TYPES = [
  'application/json',
  'application/csaf+json',
  'application/vnd.cyclonedx+json',
  'application/openvex+json',
];

/** The routes' body as acceptRawBodies leaves it: the exact bytes, not parsed. */
interface RawBody {
  Body: Buffer;
}

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

function uploadOf(request: FastifyRequest<RawBody>): Upload {
  return {
    body: request.body,
    contentType: (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase(),
    header: (name) => header(request, name),
  };
}

/** 201 with the record's location for a new revision, 200 for a no-op. */
function written(reply: FastifyReply, result: WriteResult, kind: 'advisory' | 'vex') {
  reply.header('location', `/${kind === 'vex' ? 'vex' : 'advisories'}/raw/${encodeURIComponent(result.id)}`);
  reply.code(result.result === 'ok' ? 201 : 200);
  return result;
}

export function registerIngestRoutes(app: HttpApp, service: AocService, limits: Config['limits']): void {
  app.register(async (scope) => {
    acceptRawBodies(scope, [...RAW_TYPES, ENVELOPE_CONTENT_TYPE, NDJSON_CONTENT_TYPE], limits);
    for (const kind of KINDS) {
      const scopes = [kind === 'vex' ? 'vex:ingest' : 'advisory:ingest'];
      scope.post<RawBody>(
        `/ingest/${kind}`,
        {
          bodyLimit: Math.max(limits.documentBytes + 1, 1024),
          config: { auth: { scopes }, idempotent: true },
          schema: {
            tags,
            summary: `Ingest one raw ${kind === 'vex' ? 'VEX' : 'advisory'} document verbatim`,
            description:
              `Body: the upstream document (${RAW_TYPES.join(', ')}) with provenance in X-Stella-Source-Vendor (required), ` +
              'X-Stella-Source-Connector, X-Stella-Source-Version, X-Stella-Source-Stream, X-Stella-Upstream-Id, X-Stella-Document-Version, ' +
              'X-Stella-Retrieved-At, X-Stella-Content-Hash, X-Stella-Signature (base64 detached signature) and X-Stella-Signature-Format (pgp|dsse); ' +
              `or an envelope (${ENVELOPE_CONTENT_TYPE}). 201 for a new revision, 200 when the content equals the current head (no-op).`,
            response: { 200: WriteResultSchema, 201: WriteResultSchema },
          },
        },
        async (request, reply) =>
          written(
            reply,
            await service.ingestUpload(tenantOf(request), kind, uploadOf(request), initiatorOf(request)),
            kind,
          ),
      );

      scope.post<RawBody>(
        `/ingest/${kind}/batch`,
        {
          bodyLimit: limits.requestBodyBytes,
          config: { auth: { scopes }, idempotent: true },
          schema: {
            tags,
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
        async (request) => service.ingestBatch(tenantOf(request), kind, request.body, initiatorOf(request)),
      );
    }
  });
}
