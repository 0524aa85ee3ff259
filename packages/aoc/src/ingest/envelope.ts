// SPDX-License-Identifier: Apache-2.0
// The AOC envelope (spec §3.2): provenance and linkset around the verbatim upstream document. This
// is the shape stored, returned by the read API and exported; `content.raw` is the upstream body.
import type { ContentFormat, DocumentKind, Identifiers, Linkset, SchemaAnnotation } from '../formats/types.ts';

export type RawStore = 'advisory_raw' | 'vex_raw';

export function storeFor(kind: DocumentKind): RawStore {
  return kind === 'vex' ? 'vex_raw' : 'advisory_raw';
}

export interface SignatureInfo {
  present: boolean;
  format?: 'pgp' | 'dsse' | 'jws';
  key_id?: string;
  verified: boolean;
  reason?: string;
}

export interface SourceInfo {
  vendor: string;
  connector: string;
  version: string;
  stream?: string;
}

export interface UpstreamInfo {
  upstream_id: string;
  document_version: string | null;
  retrieved_at: string;
  content_hash: string;
  signature: SignatureInfo;
}

export interface AocEnvelope {
  id: string;
  tenant: string;
  source: SourceInfo;
  upstream: UpstreamInfo;
  content: { format: ContentFormat; spec_version: string; raw: unknown; schema_validation: SchemaAnnotation };
  identifiers: Identifiers;
  linkset: Linkset;
  supersedes: string | null;
  ingested_at: string;
}

/** Top-level keys an envelope may carry (spec §3.1); `_id` and `created_at` are the spec's alternates. */
export const ALLOWED_TOP_LEVEL = new Set([
  '_id',
  'id',
  'tenant',
  'source',
  'upstream',
  'content',
  'identifiers',
  'linkset',
  'supersedes',
  'created_at',
  'ingested_at',
]);

/** Keys an ingest request may set inside each envelope section; the rest is computed by the server. */
export const ALLOWED_SECTION_KEYS: Record<string, ReadonlySet<string>> = {
  source: new Set(['vendor', 'connector', 'version', 'stream']),
  upstream: new Set(['upstream_id', 'document_version', 'retrieved_at', 'content_hash', 'signature']),
  content: new Set(['format', 'spec_version', 'raw', 'encoding', 'schema_validation']),
  'upstream/signature': new Set(['present', 'format', 'key_id', 'sig', 'verified', 'reason']),
};

/** Derived keys that must never be written at ingest (spec §3.1, the union across documents). */
export const FORBIDDEN_KEYS = new Set([
  'severity',
  'cvss',
  'cvss_vector',
  'effective_status',
  'effective_range',
  'merged_state',
  'merged_from',
  'consensus_provider',
  'risk_score',
  'reachability',
  'asset_criticality',
]);

export function isForbiddenKey(key: string): boolean {
  return FORBIDDEN_KEYS.has(key) || key.startsWith('effective_');
}

/** Keys only the policy engine may persist (ERR_AOC_006). */
export const DERIVED_FINDING_KEYS = new Set(['findings', 'derived_findings', 'policy_findings']);

export function recordId(store: RawStore, vendor: string, upstreamId: string, revision: number): string {
  return `${store}:${vendor}:${upstreamId}:${revision}`;
}

export function pointerEscape(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}
