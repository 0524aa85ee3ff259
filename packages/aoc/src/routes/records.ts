// SPDX-License-Identifier: Apache-2.0
// Read routes of the raw stores: list (heads unless history), a document's revisions, one record as
// an envelope, and the upstream bytes exactly as received with their sha256 as ETag.
import type { HttpApp } from '@stella/platform';
import Type from 'typebox';
import type { AocService } from '../service.ts';
import { KINDS, tags } from './options.ts';
import { tenantOf } from './request.ts';

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

const RecordParams = Type.Object({ id: Type.String() });

export function registerRecordRoutes(app: HttpApp, service: AocService): void {
  for (const kind of KINDS) {
    const base = kind === 'vex' ? '/vex/raw' : '/advisories/raw';
    const config = { auth: { scopes: [kind === 'vex' ? 'vex:read' : 'advisory:read'] } };

    app.get(
      base,
      {
        config,
        schema: {
          tags,
          summary: `List raw ${kind} records (heads unless history=true), oldest ingest first`,
          querystring: ListQuery,
        },
      },
      async (request, reply) =>
        reply
          .type('application/json; charset=utf-8')
          .send((await service.reads.list(tenantOf(request), kind, request.query)).json),
    );

    app.get(
      `${base}/history`,
      {
        config,
        schema: {
          tags,
          summary: `Every revision of one upstream ${kind} document, first to last`,
          querystring: Type.Object({ source: Type.String(), upstream_id: Type.String() }),
        },
      },
      async (request) =>
        service.reads.history(tenantOf(request), kind, request.query.source, request.query.upstream_id),
    );

    app.get(
      `${base}/:id`,
      {
        config,
        schema: {
          tags,
          summary: `One raw ${kind} record: the envelope with the upstream document in content.raw`,
          params: RecordParams,
        },
      },
      async (request, reply) => {
        const { envelope, contentHash } = await service.reads.record(tenantOf(request), kind, request.params.id);
        reply.header('etag', `"${contentHash}"`);
        return envelope;
      },
    );

    app.get(
      `${base}/:id/raw`,
      {
        config,
        schema: {
          tags,
          summary: `The upstream ${kind} document exactly as received (byte-identical; ETag is its sha256)`,
          params: RecordParams,
        },
      },
      async (request, reply) => {
        const { bytes, contentHash } = await service.reads.rawDocument(tenantOf(request), kind, request.params.id);
        reply.header('etag', `"${contentHash}"`);
        reply.header('x-stella-content-hash', contentHash);
        reply.type('application/json');
        return reply.send(bytes);
      },
    );
  }
}
