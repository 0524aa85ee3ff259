// SPDX-License-Identifier: Apache-2.0
// Documents sent over HTTP, all or nothing: one raw document (provenance in headers) or envelope per
// request, or an NDJSON batch of envelopes in which each line is judged on its own and any refusal
// writes nothing. The routes hand over the body; this decides what it holds.
import { Errors, type JsonLimits, lookupError, parseJsonWithLimits, StellaError } from '@stella/core';
import type { Ctx } from '@stella/platform';
import type { DocumentKind } from '../formats/types.ts';
import type { AocService } from '../service.ts';
import { documentFromEnvelope, documentFromHeaders, type HeaderReader, type IngestDocument } from './document.ts';
import { documentLimitsOf } from './limits.ts';
import { type Rejected, rejectionError, rejectionOf } from './rejection.ts';
import type { WriteResult } from './store.ts';

export const ENVELOPE_CONTENT_TYPE = 'application/vnd.stella.aoc-envelope+json';
export const NDJSON_CONTENT_TYPE = 'application/x-ndjson';

export interface Upload {
  /** The body as sent, inflated when it was gzip. */
  body: Buffer;
  /** The media type without parameters, in lower case. */
  contentType: string;
  header: HeaderReader;
}

export interface BatchResult {
  written: number;
  noop: number;
  results: WriteResult[];
}

export interface UploadIngest {
  /** One document or envelope: its write result, or the refusal as one coded error. */
  ingestUpload(tenant: string, kind: DocumentKind, upload: Upload, initiator: string): Promise<WriteResult>;
  /** An NDJSON batch of envelopes: every line written, or nothing and every line's violations. */
  ingestBatch(tenant: string, kind: DocumentKind, body: Buffer, initiator: string): Promise<BatchResult>;
}

/**
 * The JSON caps for an envelope: those of any JSON, except that `content.raw` may carry a whole document
 * as one string (base64 is 4/3 of it), which limits.documentBytes caps instead.
 */
export function envelopeJsonLimits(json: JsonLimits, documentBytes: number): JsonLimits {
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

/** The document a single-document request carries, by its content type. */
export function documentFromUpload(upload: Upload, kind: DocumentKind, envelopeLimits: JsonLimits): IngestDocument {
  if (upload.contentType === ENVELOPE_CONTENT_TYPE) {
    return documentFromEnvelope(parseEnvelope(upload.body, envelopeLimits), kind);
  }
  if (upload.contentType === NDJSON_CONTENT_TYPE) {
    throw new StellaError(Errors.unsupportedMediaType, `send NDJSON batches to /ingest/${kind}/batch`);
  }
  return documentFromHeaders(upload.header, upload.body, kind);
}

/** One document a line; a line that cannot be read is refused on its own, with its line number, like a guard violation. */
export function documentsFromNdjson(
  body: Buffer,
  kind: DocumentKind,
  envelopeLimits: JsonLimits,
  lineCap: number,
): Array<IngestDocument | Rejected> {
  const docs: Array<IngestDocument | Rejected> = [];
  let lineNo = 0;
  for (const line of body.toString('utf8').split('\n')) {
    lineNo++;
    if (!line.trim()) continue;
    const location = `line ${lineNo}`;
    try {
      if (Buffer.byteLength(line) > lineCap) {
        throw new StellaError(Errors.bodyTooLarge, `${location} is longer than limits.ndjsonLineBytes (${lineCap})`);
      }
      docs.push(documentFromEnvelope(parseEnvelope(Buffer.from(line), envelopeLimits, location), kind, location));
    } catch (error) {
      if (!(error instanceof StellaError)) throw error;
      docs.push(rejectionOf(error, 'unknown', location));
    }
  }
  if (docs.length === 0) throw new StellaError(Errors.malformedBody, 'the batch is empty');
  return docs;
}

export function createUploadIngest(ctx: Ctx, ingest: AocService['ingest']): UploadIngest {
  const limits = ctx.config.limits;
  const envelopeLimits = envelopeJsonLimits(documentLimitsOf(limits).json, limits.documentBytes);
  const allOrNothing = async (tenant: string, docs: ReadonlyArray<IngestDocument | Rejected>, initiator: string) => {
    const { results, rejected } = await ingest(tenant, docs, {
      initiator,
      connector: 'api',
      version: '1',
      atomic: true,
    });
    if (rejected.length) throw rejectionError(rejected);
    return results;
  };
  return {
    async ingestUpload(tenant, kind, upload, initiator) {
      const [result] = await allOrNothing(tenant, [documentFromUpload(upload, kind, envelopeLimits)], initiator);
      return result!;
    },
    async ingestBatch(tenant, kind, body, initiator) {
      const docs = documentsFromNdjson(body, kind, envelopeLimits, limits.ndjsonLineBytes);
      const results = await allOrNothing(tenant, docs, initiator);
      const written = results.filter((r) => r.result === 'ok').length;
      return { written, noop: results.length - written, results };
    },
  };
}
