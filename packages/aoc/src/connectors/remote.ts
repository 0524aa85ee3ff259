// SPDX-License-Identifier: Apache-2.0
// Fetches one listed document over file: or http(s): together with its signature and digest: the
// links a ROLIE entry names, else the `.asc`/`.sha512`/`.sha256` siblings CSAF requirement 18–20
// place next to it (absent siblings are simply not attached).
import { isoUtc } from '@stella/core';
import {
  digestAlgorithmFor,
  gunzipCapped,
  parseDigestSidecar,
  SIDECAR_BYTES,
  sidecarBase,
  withEnvelopeSignature,
} from './documents.ts';
import { ConnectorError } from './errors.ts';
import { type GetContext, getResource } from './http-client.ts';
import type { FetchedDocument, FetchOptions } from './types.ts';

export interface ListedDocument {
  url: URL;
  /** What the caller sees as FetchedDocument.location. */
  location: string;
  cursor: string;
  signatureUrl?: URL;
  hashUrl?: URL;
}

function withCursor(err: unknown, location: string, cursor: string): unknown {
  if (err instanceof ConnectorError && err.cursor === undefined)
    return new ConnectorError(err.code, err.message, { location, cursor, cause: err.cause });
  return err;
}

export async function fetchListedDocument(
  listed: ListedDocument,
  options: FetchOptions,
  context: GetContext,
  describe: (url: URL) => string,
): Promise<FetchedDocument> {
  const { url, location, cursor } = listed;
  try {
    let bytes = await getResource(url, options.limits.documentBytes, context);
    if (bytes === null)
      throw new ConnectorError('ERR_CONNECTOR_INPUT', `${location}: listed but not found`, { location, cursor });
    if (url.pathname.endsWith('.gz')) bytes = gunzipCapped(bytes, options.limits.documentBytes, location, cursor);
    const doc: FetchedDocument = { location, bytes, retrievedAt: isoUtc(options.now()), cursor };
    const base = sidecarBase(url.href);
    const signatureUrl = listed.signatureUrl ?? new URL(`${base}.asc`);
    const hashUrls = listed.hashUrl ? [listed.hashUrl] : [new URL(`${base}.sha512`), new URL(`${base}.sha256`)];
    // Sidecars are probed together: three sequential round trips per document would dominate a large feed.
    const [signature, ...digests] = await Promise.all(
      [signatureUrl, ...hashUrls].map((u) => getResource(u, SIDECAR_BYTES, context)),
    );
    if (signature) doc.signature = { format: 'pgp', bytes: signature, location: describe(signatureUrl) };
    for (const [i, digest] of digests.entries()) {
      const hashUrl = hashUrls[i];
      if (!digest || hashUrl === undefined) continue;
      doc.declaredDigest = parseDigestSidecar(digest, digestAlgorithmFor(hashUrl.pathname, digest), describe(hashUrl));
      break;
    }
    return withEnvelopeSignature(doc);
  } catch (err) {
    throw withCursor(err, location, cursor);
  }
}
