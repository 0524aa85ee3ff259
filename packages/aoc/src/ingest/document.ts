// SPDX-License-Identifier: Apache-2.0
// What enters the pipeline: an upstream document with the provenance its writer proposes, built from
// an envelope (`{source, upstream?, content: {raw, encoding?}}`) or from a raw body with its
// provenance in X-Stella-* headers.
import { Errors, StellaError } from '@stella/core';
import { AocErrors } from '../errors.ts';
import type { DocumentKind } from '../formats/types.ts';
import type { DeclaredDigest } from '../signatures/index.ts';
import { violationError } from './guard.ts';

export interface IngestDocument {
  /** The upstream document exactly as received. */
  bytes: Uint8Array;
  /** Envelope fields the writer proposes (source, upstream, tenant…); everything else is computed. */
  proposal: Record<string, unknown>;
  /** Which store: `auto` decides from the format. */
  kind: DocumentKind | 'auto';
  /** A detached signature delivered with the document (CSAF `.asc`, a DSSE envelope). */
  signature?: { format: 'pgp' | 'dsse'; bytes: Uint8Array } | undefined;
  /** A digest the upstream published next to the document (`.sha256`/`.sha512`, ROLIE hash links). */
  declaredDigest?: DeclaredDigest | undefined;
  /** For messages: a file, URL or NDJSON line. */
  location?: string | undefined;
}

/** Reads one request header (the first value when it was sent twice). */
export type HeaderReader = (name: string) => string | undefined;

/** A raw document in the body; provenance in X-Stella-* headers. */
export function documentFromHeaders(header: HeaderReader, body: Buffer, kind: DocumentKind): IngestDocument {
  const source: Record<string, string> = {};
  const upstream: Record<string, string> = {};
  const set = (target: Record<string, string>, key: string, name: string) => {
    const value = header(name);
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
  const sig = header('x-stella-signature');
  const sigFormat = header('x-stella-signature-format') ?? 'pgp';
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
