// What signals routes read from a request besides its schema-typed params, query and body: the
// tenant the auth hook resolved and a few headers (the graph, analysis and ingest ids of an upload).
import { headerValue } from '@stella/platform';
import type { FastifyRequest } from 'fastify';
import type { UploadHeaders } from '../runtime/upload.ts';

export { tenantOf } from '@stella/platform';

/** A header's first value, trimmed; undefined when absent or blank. */
export function header(request: FastifyRequest, name: string): string | undefined {
  const value = headerValue(request, name)?.trim();
  return value ? value : undefined;
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
