// SPDX-License-Identifier: Apache-2.0
// What `stella sources ingest` reads locally: a single file (gzip and base64 unwrapped, an envelope
// kept as one) or whatever a connector fetches from --input, under the same caps as the server.
import { readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Errors, parseJsonWithLimits, STELLA_VERSION, StellaError, systemClock } from '@stella/core';
import { CliError, type CliIo, type Config } from '@stella/platform';
import { type ConnectorKind, connectorFor, detectConnector, type FetchLimits } from '../connectors/index.ts';
import { AocErrors } from '../errors.ts';
import type { DocumentKind } from '../formats/types.ts';
import { documentFromEnvelope, type IngestDocument } from '../ingest/document.ts';
import { type DocumentLimits, documentLimitsOf } from '../ingest/limits.ts';
import type { Rejected } from '../ingest/rejection.ts';
import { envelopeJsonLimits } from '../ingest/upload.ts';
import { fetchDocuments } from '../sources/fetch.ts';
import { documentFromFetched } from '../sources/runner.ts';

export interface IngestFlags {
  source: string;
  input: string;
  dryRun?: boolean;
  kind: DocumentKind | 'auto';
  connector?: ConnectorKind;
  format?: 'json' | 'table';
  output?: string;
  batch: string;
  documentBytes?: string;
}

/** A single file as the runbook describes: gzip and base64 are unwrapped; an envelope file is kept as one. */
function singleFileDocument(
  path: string,
  vendor: string,
  kind: DocumentKind | 'auto',
  maxBytes: number,
  limits: DocumentLimits,
): IngestDocument {
  // A gzip bomb stops at the document cap instead of filling memory.
  const gunzip = (b: Buffer) => {
    if (b[0] !== 0x1f || b[1] !== 0x8b) return b;
    try {
      return gunzipSync(b, { maxOutputLength: maxBytes + 1 });
    } catch (error) {
      const tooLarge = (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
      throw new StellaError(
        tooLarge ? AocErrors.documentTooLarge : AocErrors.malformedDocument,
        tooLarge
          ? `${path}: expands beyond ${maxBytes} bytes (--document-bytes)`
          : `${path}: gzip cannot be decompressed: ${(error as Error).message}`,
      );
    }
  };
  let bytes = gunzip(readFileSync(path));
  const text = bytes.toString('latin1').trim();
  if (text && !text.startsWith('{') && !text.startsWith('[') && /^[A-Za-z0-9+/=\r\n]+$/.test(text)) {
    bytes = gunzip(Buffer.from(text, 'base64'));
  }
  // Only to tell an envelope from a document: a file over the JSON caps is not read as an envelope, and
  // the guard then refuses it as a document with the cap's code.
  let parsed: unknown;
  try {
    parsed = parseJsonWithLimits(bytes.toString('utf8'), envelopeJsonLimits(limits.json, maxBytes));
  } catch {
    parsed = undefined;
  }
  if (isEnvelope(parsed)) {
    const doc = documentFromEnvelope(parsed, kind, path);
    const source = (doc.proposal.source ?? {}) as Record<string, unknown>;
    return { ...doc, proposal: { ...doc.proposal, source: { vendor, ...source } } };
  }
  return {
    bytes,
    proposal: { source: { vendor, connector: 'cli', version: STELLA_VERSION } },
    kind,
    location: path,
  };
}

function isEnvelope(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { content?: unknown }).content === 'object' &&
    (value as { content: object | null }).content !== null &&
    'raw' in ((value as { content: object }).content ?? {})
  );
}

export async function* localDocuments(
  flags: IngestFlags,
  io: CliIo,
  limits: { fetch: FetchLimits; document: DocumentLimits },
  onReject: (rejected: Rejected) => void,
): AsyncGenerator<IngestDocument> {
  const kind = flags.connector ?? detectConnector(flags.input);
  if (kind === 'directory') {
    let isFile: boolean;
    try {
      isFile = statSync(flags.input).isFile();
    } catch (error) {
      throw new StellaError(AocErrors.connectorInput, `${flags.input}: ${(error as Error).message}`);
    }
    if (isFile) {
      yield singleFileDocument(flags.input, flags.source, flags.kind, limits.fetch.documentBytes, limits.document);
      return;
    }
  }
  const connector = connectorFor(kind);
  const documents = fetchDocuments(
    connector,
    {
      input: flags.input,
      now: systemClock.now,
      limits: limits.fetch,
      onSkip: (s) => io.stderr.write(`skipped ${s.location}: ${s.reason}\n`),
    },
    (location, error) =>
      onReject({
        ok: false,
        error,
        violations: [{ code: error.code, path: '', message: error.message }],
        vendor: flags.source,
        location,
      }),
  );
  for await (const fetched of documents) {
    yield documentFromFetched(fetched, flags.source, connector.name, flags.kind);
  }
}

export function cliLimits(config: Config, flags: IngestFlags): { fetch: FetchLimits; document: DocumentLimits } {
  const documentBytes = flags.documentBytes === undefined ? config.limits.documentBytes : Number(flags.documentBytes);
  if (!Number.isSafeInteger(documentBytes) || documentBytes < 1) {
    throw new CliError(Errors.usage, '--document-bytes must be a positive integer');
  }
  return {
    fetch: {
      documentBytes,
      decompressedBytes: config.limits.decompressedBytes,
      archiveEntries: config.limits.archiveEntries,
    },
    document: documentLimitsOf(config.limits),
  };
}
