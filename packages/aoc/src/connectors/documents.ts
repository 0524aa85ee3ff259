// SPDX-License-Identifier: Apache-2.0
// Rules every connector shares: which names are documents, how sidecars are read, how gzip is
// unwrapped under a cap, and how a DSSE envelope is recognised, so a directory, a zip and an HTTP
// mirror of the same upstream hand over identical documents.

import { gunzipSync } from 'node:zlib';
import { STELLA_VERSION } from '@stella/core';
import { ConnectorError } from './errors.ts';
import type { FetchedDocument } from './types.ts';

export const CONNECTOR_VERSION = STELLA_VERSION;

/**
 * Sidecars (.asc, .sha256, .sha512) are a few hundred bytes; 64 KiB leaves room for several
 * signatures and refuses a "signature" that is really a large file.
 */
export const SIDECAR_BYTES = 64 * 1024;

const BOOKKEEPING_NAME = /^(licen[cs]e|notice|readme|manifest|provenance)([._-]|$)/i;

/** `*.json` and `*.json.gz`, except distribution bookkeeping such as MANIFEST.json or PROVENANCE.json. */
export function isDocumentName(name: string): boolean {
  const base = name.slice(name.lastIndexOf('/') + 1);
  if (BOOKKEEPING_NAME.test(base)) return false;
  return base.endsWith('.json') || base.endsWith('.json.gz');
}

/** The name sidecars hang off: `X.json` for both `X.json` and `X.json.gz` (a sidecar covers the JSON). */
export function sidecarBase(name: string): string {
  return name.endsWith('.gz') ? name.slice(0, -3) : name;
}

/** Code-unit order: the same on every platform and locale, so cursors resume exactly. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function gunzipCapped(bytes: Uint8Array, maxBytes: number, location: string, cursor: string): Uint8Array {
  try {
    return new Uint8Array(gunzipSync(bytes, { maxOutputLength: maxBytes }));
  } catch (err) {
    if (err instanceof RangeError || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new ConnectorError(
        'ERR_CONNECTOR_TOO_LARGE',
        `${location}: gzip expands beyond the document cap of ${maxBytes} bytes`,
        { location, cursor, cause: err },
      );
    throw new ConnectorError(
      'ERR_CONNECTOR_MALFORMED',
      `${location}: not a readable gzip stream (${(err as Error).message})`,
      {
        location,
        cursor,
        cause: err,
      },
    );
  }
}

/** `sha256sum` style (`<hex>  <name>`) or a bare hex digest; the first token is the digest. */
export function parseDigestSidecar(
  bytes: Uint8Array,
  algorithm: 'sha256' | 'sha512',
  location: string,
): NonNullable<FetchedDocument['declaredDigest']> {
  const text = Buffer.from(bytes).toString('utf8').trim();
  const hex = (text.split(/\s+/)[0] ?? '').toLowerCase();
  return { algorithm, hex, location };
}

/** Algorithm from a hash URL's suffix, else from the digest length. */
export function digestAlgorithmFor(location: string, bytes: Uint8Array): 'sha256' | 'sha512' {
  if (location.endsWith('.sha512')) return 'sha512';
  if (location.endsWith('.sha256')) return 'sha256';
  const token = Buffer.from(bytes).toString('utf8').trim().split(/\s+/)[0] ?? '';
  return token.length === 128 ? 'sha512' : 'sha256';
}

/** True when the bytes are a DSSE envelope (OpenVEX attestations are published this way). */
export function isDsseEnvelope(bytes: Uint8Array): boolean {
  // Cheap pre-check so ordinary advisories are not parsed twice.
  const head = Buffer.from(bytes.subarray(0, 4096)).toString('utf8');
  if (!head.includes('"payloadType"')) return false;
  try {
    const value: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    const env = value as Record<string, unknown>;
    return typeof env.payloadType === 'string' && typeof env.payload === 'string' && Array.isArray(env.signatures);
  } catch {
    return false;
  }
}

/** Attaches the DSSE "signature" (the envelope itself) when no detached signature was found. */
export function withEnvelopeSignature(doc: FetchedDocument): FetchedDocument {
  if (doc.signature === undefined && isDsseEnvelope(doc.bytes))
    doc.signature = { format: 'dsse', bytes: doc.bytes, location: doc.location };
  return doc;
}
