// Callgraph routes: ingest, the stored graph, its signed manifest, and runtime symbol coverage.
import type { Config, HttpApp } from '@stella/platform';
import Type from 'typebox';
import { pickSubject } from '../runtime/subject.ts';
import type { Signals } from '../service.ts';
import { header, tenantOf } from './request.ts';
import { CallgraphParams, Json, tags } from './schemas.ts';

const read = { auth: { scopes: ['signals:read'] } };

const CallgraphIngestResponse = Type.Object({
  callgraphId: Type.String(),
  graphHash: Type.String({ description: 'sha256 of the canonical graph JSON.' }),
  format: Type.String(),
  nodeCount: Type.Integer(),
  edgeCount: Type.Integer(),
  entrypointCount: Type.Integer(),
  casUri: Type.String(),
  csrUri: Type.String(),
  manifestUri: Type.String(),
  dsseUri: Type.String(),
  created: Type.Boolean({ description: 'False when the same graph was stored before (its id is returned).' }),
  orphansAttached: Type.Integer({ description: 'Runtime batches that waited for this graph and were attached.' }),
  runtime: Type.Optional(
    Type.Object(
      {
        subjectKey: Type.String(),
        ingestId: Type.String(),
        casUri: Type.String(),
        events: Type.Integer(),
        duplicate: Type.Boolean(),
      },
      { description: "A union set's facts_runtime.ndjson, ingested for the subject in the query." },
    ),
  ),
  runtimeFactsIgnored: Type.Optional(
    Type.Integer({ description: 'facts_runtime.ndjson rows not ingested because the query named no subject.' }),
  ),
});

const CallgraphRowResponse = Type.Object({
  callgraphId: Type.String(),
  graphHash: Type.String(),
  format: Type.String(),
  language: Type.String(),
  component: Type.String(),
  version: Type.String(),
  nodeCount: Type.Integer(),
  edgeCount: Type.Integer(),
  entrypointCount: Type.Integer(),
  packages: Type.Array(Type.String()),
  casUri: Type.String(),
  csrUri: Type.String(),
  manifestUri: Type.String(),
  dsseUri: Type.String(),
  signerKeyid: Type.String(),
  analysisId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
});

const CoverageResponse = Type.Object({
  callgraphId: Type.String(),
  graphHash: Type.String(),
  symbols: Type.Integer(),
  mapped: Type.Integer(),
  unmapped: Type.Integer(),
  ratio: Type.Number(),
  unmappedSample: Type.Array(Type.String()),
});

export function registerCallgraphRoutes(app: HttpApp, signals: Signals, config: Config): void {
  app.post(
    '/signals/callgraphs',
    {
      bodyLimit: config.signals.maxGraphBodyBytes,
      config: { auth: { scopes: ['signals:write'] }, idempotent: true },
      schema: {
        tags,
        summary: 'Ingest a callgraph (stella.callgraph.v1, richgraph-v1, union NDJSON set, Jelly JSON)',
        description:
          'The graph is normalised (NFC, sorted), validated, hashed (graphHash), stored in CAS as canonical JSON and as a CSR edge list, and described by a DSSE-signed manifest. The same graph again answers with the same callgraphId. A union set may carry facts_runtime.ndjson; with a subject in the query (scanId | imageDigest | component+version) those are ingested as a runtime batch.',
        querystring: Type.Object({
          scanId: Type.Optional(Type.String()),
          imageDigest: Type.Optional(Type.String()),
          component: Type.Optional(Type.String()),
          version: Type.Optional(Type.String()),
        }),
        body: Json,
        response: { 202: CallgraphIngestResponse },
      },
    },
    async (request, reply) => {
      const analysisId = header(request, 'x-analysis-id');
      const result = await signals.ingestCallgraph(tenantOf(request), request.body, {
        ...(analysisId ? { analysisId } : {}),
        subject: pickSubject(request.query),
      });
      reply.header('location', `/signals/callgraphs/${result.callgraphId}`);
      return reply.code(202).send(result);
    },
  );

  app.get(
    '/signals/callgraphs/:callgraphId',
    {
      config: read,
      schema: {
        tags,
        summary: 'A stored callgraph (ids of another tenant answer 404)',
        params: CallgraphParams,
        response: { 200: CallgraphRowResponse },
      },
    },
    async (request) => signals.getCallgraph(tenantOf(request), request.params.callgraphId),
  );

  app.get(
    '/signals/callgraphs/:callgraphId/manifest',
    {
      config: read,
      schema: {
        tags,
        summary: 'The graph manifest and its DSSE envelope (signed by the tenant signals-graph key)',
        params: CallgraphParams,
        response: {
          200: Type.Object({ manifest: Json, dsse: Json, manifestUri: Type.String(), dsseUri: Type.String() }),
        },
      },
    },
    async (request) => signals.getManifest(tenantOf(request), request.params.callgraphId),
  );

  app.post(
    '/signals/callgraphs/:callgraphId/coverage',
    {
      config: read,
      schema: {
        tags,
        summary: 'How many runtime symbols map onto graph nodes (stella graph verify)',
        params: CallgraphParams,
        body: Type.Object({ symbols: Type.Array(Type.String(), { maxItems: 1_000_000 }) }),
        response: { 200: CoverageResponse },
      },
    },
    async (request) => signals.coverage(tenantOf(request), request.params.callgraphId, request.body.symbols),
  );
}
