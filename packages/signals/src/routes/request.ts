// What signals routes read from a request besides its schema-typed params, query and body: the
// tenant the auth hook resolved and a few headers (the graph, analysis and ingest ids of an upload).
import type { FastifyRequest } from 'fastify';
import type { UploadHeaders } from '../runtime/upload.ts';

/** Set by the platform's auth hook on every route that declares `config.auth`, as all signals routes do. */
export const tenantOf = (request: FastifyRequest): string => request.tenant!;

/** A header's first value, trimmed; undefined when absent or blank. */
export function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  const value = Array.isArray(v) ? v[0] : v;
  return value?.trim() ? value.trim() : undefined;
}

/** The headers a runtime upload reads. */
export function uploadHeaders(request: FastifyRequest): UploadHeaders {
  const found = {
    contentLength: header(request, 'content-length'),
    contentEncoding: header(request, 'content-encoding'),
    callgraphId: header(request, 'x-callgraph-id'),
    analysisId: header(request, 'x-analysis-id'),
    ingestId: header(request, 'x-ingest-id'),
  };
  return Object.fromEntries(Object.entries(found).filter(([, value]) => value !== undefined));
}
