// Runtime fact routes: the streamed NDJSON uploads (never buffered: the raw request stream is read
// line by line) and the structured JSON body.
import type { HttpApp } from '@stella/platform';
import Type from 'typebox';
import type { RuntimeIngestResult } from '../runtime/ingest.ts';
import {
  ingestEvents,
  ingestNdjson,
  ingestTrace,
  type StreamIngestResult,
  type UploadContext,
} from '../runtime/upload.ts';
import { tenantOf, uploadHeaders } from './request.ts';
import { Json, RuntimeIngestResponse, SubjectQuery, tags } from './schemas.ts';

const RAW_TYPES = [
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/gzip',
  'application/octet-stream',
  'text/plain',
];
const write = { auth: { scopes: ['signals:write'] } };

/** The answer to an upload: the result, with the subject key also in seed 001's spelling. */
const accepted = (result: RuntimeIngestResult) => ({ ...result, SubjectKey: result.subjectKey });

export async function registerRuntimeStreamRoutes(app: HttpApp, uploads: UploadContext): Promise<void> {
  // The raw stream parsers live in their own scope so other rooms' parsers for these types are untouched.
  await app.register(async (scope: HttpApp) => {
    for (const type of RAW_TYPES) {
      if (scope.hasContentTypeParser(type)) scope.removeContentTypeParser(type);
      scope.addContentTypeParser(type, (_request, payload, done) => done(null, payload));
    }
    // A refused upload's remainder is drained by the platform's onSend hook, so the client reads the answer.
    scope.post(
      '/signals/runtime-facts/ndjson',
      {
        config: write,
        schema: {
          tags,
          summary: 'Ingest runtime facts as NDJSON (one event per line; gzip accepted)',
          description:
            'Streams the body. callgraphId comes from the query or X-Callgraph-Id; the subject from scanId | imageDigest | component+version. A retried batch (same X-Ingest-Id or same content) is not counted twice. Answers Content-SHA256 (of the body as uploaded) and X-Decoded-SHA256 (of the decompressed NDJSON, its CAS key).',
          querystring: Type.Object(SubjectQuery),
          response: { 202: RuntimeIngestResponse },
        },
      },
      async (request, reply) => {
        const result = await ingestNdjson(
          uploads,
          tenantOf(request),
          request.query,
          request.body,
          uploadHeaders(request),
        );
        return reply.headers(digestHeaders(result)).code(202).send(accepted(result));
      },
    );

    scope.post(
      '/api/v1/runtime-facts',
      {
        config: write,
        schema: {
          tags,
          summary: 'Ingest a runtime trace for a graph hash (seed 000 form)',
          description:
            'Body: NDJSON, gzip recognised by Content-Encoding or by its magic bytes. Answers Content-SHA256 (hex sha256 of the body as uploaded, what `sha256sum trace.ndjson.gz` prints), X-Decoded-SHA256 (of the decompressed trace, its CAS key), X-Graph-Hash and X-Ingest-Id. A trace for a graph not ingested yet is parked and attached when the graph arrives.',
          querystring: Type.Object({ graph_hash: Type.Optional(Type.String()), ...SubjectQuery }),
          response: { 202: RuntimeIngestResponse },
        },
      },
      async (request, reply) => {
        const result = await ingestTrace(
          uploads,
          tenantOf(request),
          request.query,
          request.body,
          uploadHeaders(request),
        );
        reply
          .headers(digestHeaders(result))
          .header('x-graph-hash', result.graphHash)
          .header('x-ingest-id', result.ingestId);
        return reply.code(202).send(accepted(result));
      },
    );
  });
}

/** Seed 000 §2: the digest of the bytes as uploaded (what `sha256sum` prints) and of the decoded trace (its CAS key). */
function digestHeaders(result: StreamIngestResult): Record<string, string> {
  return {
    'content-sha256': result.uploadSha256.replace(/^sha256:/, ''),
    'x-decoded-sha256': result.contentSha256.replace(/^sha256:/, ''),
  };
}

export function registerRuntimeEventRoutes(app: HttpApp, uploads: UploadContext): void {
  app.post(
    '/signals/runtime-facts',
    {
      config: write,
      schema: {
        tags,
        summary: 'Ingest runtime facts (structured body: subject, callgraphId, events[])',
        body: Json,
        response: { 202: RuntimeIngestResponse },
      },
    },
    async (request, reply) => {
      const result = await ingestEvents(uploads, tenantOf(request), request.body, uploadHeaders(request));
      return reply.code(202).send(accepted(result));
    },
  );
}
