// SPDX-License-Identifier: Apache-2.0
// SBOM routes: ingest (the body is the document, kept as the exact bytes), list, one record, its
// components, and the verbatim document with its sha256 as ETag. Another tenant's id is a 404 (RLS).
import { type HttpApp, headerValue, tenantOf } from '@stella/platform';
import type { FindingsService } from '../service.ts';
import {
  ComponentsQuery,
  IngestQuery,
  IngestResponse,
  ingestScope,
  ListQuery,
  Page,
  readScope,
  SBOM_CONTENT_TYPES,
  SbomComponentSchema,
  SbomParams,
  SbomRecordSchema,
  tags,
} from './schemas.ts';

/** The ingest route's request: the body as the raw-body parser leaves it, the query as its schema says. */
interface IngestRoute {
  Body: Buffer;
  Querystring: IngestQuery;
}

/** Keeps each SBOM media type's body as a Buffer, under the route's bodyLimit (413 above). */
export function acceptSbomBodies(scope: HttpApp): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser(SBOM_CONTENT_TYPES, { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
}

function registerIngestRoute(app: HttpApp, service: FindingsService, maxSbomBytes: number): void {
  app.register(async (scope) => {
    acceptSbomBodies(scope);
    scope.post<IngestRoute>(
      '/sboms',
      {
        bodyLimit: maxSbomBytes,
        config: ingestScope,
        schema: {
          tags,
          summary: 'Ingest an SBOM (CycloneDX 1.2–1.6 JSON, SPDX 2.2/2.3 JSON), stored verbatim',
          description:
            `Body: the SBOM document (${SBOM_CONTENT_TYPES.join(', ')}), at most findings.maxSbomBytes. ` +
            'The subject is scanId, else imageDigest, else component+version from the query; without them the ' +
            "SBOM's root (a container's image digest, else its package name and version); none: 400 " +
            'ERR_SBOM_SUBJECT_REQUIRED. 201 for a new SBOM; 200 with duplicate=true for bytes stored before.',
          querystring: IngestQuery,
          response: { 200: IngestResponse, 201: IngestResponse },
        },
      },
      async (request, reply) => {
        const { filename, ...subject } = request.query;
        const userAgent = headerValue(request, 'user-agent');
        const result = await service.ingestSbom(tenantOf(request), request.body, {
          subject,
          provenance: {
            clientId: request.principal?.subject ?? 'unknown',
            ...(filename ? { filename } : {}),
            ...(userAgent ? { userAgent: userAgent.slice(0, 256) } : {}),
          },
        });
        reply.header('location', `/sboms/${encodeURIComponent(result.id)}`);
        return reply.code(result.duplicate ? 200 : 201).send(result);
      },
    );
  });
}

export function registerSbomRoutes(app: HttpApp, service: FindingsService, maxSbomBytes: number): void {
  registerIngestRoute(app, service, maxSbomBytes);

  app.get(
    '/sboms',
    {
      config: readScope,
      schema: {
        tags,
        summary: "List the tenant's SBOMs, newest first, with cursor paging",
        querystring: ListQuery,
        response: { 200: Page(SbomRecordSchema) },
      },
    },
    async (request) => service.listSboms(tenantOf(request), request.query),
  );

  app.get(
    '/sboms/:id',
    {
      config: readScope,
      schema: {
        tags,
        summary: 'One SBOM record: subject, format, counts, issues and provenance (components: /components)',
        params: SbomParams,
        response: { 200: SbomRecordSchema },
      },
    },
    async (request) => service.getSbom(tenantOf(request), request.params.id),
  );

  app.get(
    '/sboms/:id/components',
    {
      config: readScope,
      schema: {
        tags,
        summary: "An SBOM's components (the root first) in document order, with cursor paging",
        params: SbomParams,
        querystring: ComponentsQuery,
        response: { 200: Page(SbomComponentSchema) },
      },
    },
    async (request) => service.sbomComponents(tenantOf(request), request.params.id, request.query),
  );

  app.get(
    '/sboms/:id/raw',
    {
      config: readScope,
      schema: {
        tags,
        summary: 'The SBOM exactly as received (byte-identical; ETag is its sha256)',
        description: 'application/json; If-None-Match with the ETag answers 304.',
        params: SbomParams,
        produces: ['application/json'],
      },
    },
    async (request, reply) => {
      const { bytes, contentHash } = await service.rawSbom(tenantOf(request), request.params.id);
      const etag = `"${contentHash}"`;
      reply.header('etag', etag);
      if (request.headers['if-none-match'] === etag) return reply.code(304).send(null);
      reply.type('application/json');
      return reply.send(bytes);
    },
  );
}
