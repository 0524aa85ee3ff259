// SPDX-License-Identifier: Apache-2.0
// The ingestion pipeline shared by the HTTP routes, the NDJSON batch route, the connectors and the
// CLI dry-run: bytes → strict parse → format recognition and linkset → signature policy → envelope
// → guard. `prepareDocument` is pure apart from signature checks; store.ts writes what it accepts.
import { type Clock, type ErrorDefinition, Errors, lookupError, StellaError, sha256Digest } from '@stella/core';
import { checkRequestText } from '@stella/platform';
import { AocErrors } from '../errors.ts';
import { parseStrictJson, recognise } from '../formats/index.ts';
import type { Recognised } from '../formats/types.ts';
import type { AocMetrics } from '../metrics.ts';
import { checkDeclaredDigest } from '../signatures/index.ts';
import type { IngestDocument } from './document.ts';
import {
  type AocEnvelope,
  type RawStore,
  recordId,
  type SignatureInfo,
  type SourceInfo,
  storeFor,
} from './envelope.ts';
import { type AocViolation, guardEnvelope, violationError } from './guard.ts';
import type { DocumentLimits } from './limits.ts';
import { type Rejected, rejectionOf } from './rejection.ts';

export interface PreparedDocument {
  store: RawStore;
  /** Complete except id, supersedes and revision, which the writer assigns. */
  envelope: AocEnvelope;
  raw: string;
  packages: string[];
  location?: string | undefined;
}

export type Prepared = { ok: true; doc: PreparedDocument } | Rejected;

/** Verifies a document's upstream signature under the source's policy. */
export type SignatureChecker = (
  vendor: string,
  bytes: Uint8Array,
  signature: IngestDocument['signature'],
) => Promise<{ info: SignatureInfo; reject?: string | undefined }>;

export interface PrepareOptions {
  tenant: string;
  guardEnabled: boolean;
  documentBytes: number;
  limits: DocumentLimits;
  defaults: { connector: string; version: string };
  clock: Clock;
  checkSignature: SignatureChecker;
  metrics: AocMetrics;
}

// ignoreBOM keeps a leading U+FEFF in the text: the raw text is the record, and its SHA-256 must be the
// bytes' (by default the decoder would drop it, and the store would refuse the hash, ERR_AOC_005).
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

/** Version-less purls for package-level lookups; canonical purls encode '@' in names as %40. */
export function packagesOf(purls: readonly string[]): string[] {
  return [...new Set(purls.map((p) => (p.includes('@') ? p.slice(0, p.indexOf('@')) : p)))].sort();
}

function violated(def: ErrorDefinition, path: string, message: string): StellaError {
  return violationError([{ code: def.code, path, message }]);
}

/** The document as its writer proposed it, with the location prefix its messages carry. */
interface Proposal {
  input: IngestDocument;
  source: Json;
  upstream: Json;
  vendor: string;
  where: string;
}

/** What the bytes are: parsed strictly under the JSON caps, then recognised (format, ids, linkset). */
interface ReadDocument {
  doc: unknown;
  raw: string;
  recognised: Recognised;
}

/** Before parsing: the document cap, then the guard over the proposed envelope. */
function checkProposal(p: Proposal, options: PrepareOptions): StellaError | undefined {
  if (p.input.bytes.length > options.documentBytes) {
    return new StellaError(
      AocErrors.documentTooLarge,
      `${p.where}document is ${p.input.bytes.length} bytes; the cap is ${options.documentBytes} (limits.documentBytes)`,
    );
  }
  if (options.guardEnabled) {
    const violations = guardEnvelope(p.input.proposal, { tenant: options.tenant, bytes: p.input.bytes });
    if (violations.length > 0) return violationError(violations);
  }
  return undefined;
}

function readDocument(p: Proposal, limits: DocumentLimits): ReadDocument | StellaError {
  const proposal = p.input.proposal;
  try {
    const doc = parseStrictJson(p.input.bytes, limits.json);
    const raw = decoder.decode(p.input.bytes);
    const hint = str(isObject(proposal.content) ? proposal.content.format : undefined);
    const recognised = recognise(doc, hint ? { format: hint as never } : undefined);
    return { doc, raw, recognised };
  } catch (error) {
    if (error instanceof StellaError) {
      return new StellaError(lookup(error.code), `${p.where}${error.message}`, { details: error.details });
    }
    throw error;
  }
}

/**
 * The record's identity: the right store for its kind, an upstream id (the document's own, else the
 * writer's, else where it was fetched from) that agrees with the writer's, within the identifier caps,
 * and bytes matching any digest the upstream published.
 */
function identify(p: Proposal, read: ReadDocument, limits: DocumentLimits): { upstreamId: string } | StellaError {
  const { recognised } = read;
  const kind = p.input.kind;
  if (kind !== 'auto' && recognised.kind !== kind) {
    return new StellaError(
      AocErrors.wrongKind,
      `${p.where}${recognised.format} is a${recognised.kind === 'advisory' ? 'n advisory' : ' VEX document'}, not ${kind === 'vex' ? 'VEX' : 'an advisory'}`,
    );
  }
  const givenId = str(p.upstream.upstream_id);
  if (givenId && recognised.upstreamId && givenId !== recognised.upstreamId) {
    return violated(
      AocErrors.missingProvenance,
      '/upstream/upstream_id',
      `upstream_id "${excerpt(givenId)}" does not match the document's own id "${excerpt(recognised.upstreamId)}"`,
    );
  }
  // A document without an id of its own (a CycloneDX VEX without serialNumber) is named by the
  // writer, or else by where the connector fetched it from.
  const upstreamId = recognised.upstreamId || givenId || p.input.location;
  if (!upstreamId) {
    return violated(
      AocErrors.missingProvenance,
      '/upstream/upstream_id',
      `this ${recognised.format} document carries no id of its own (CycloneDX serialNumber, OpenVEX @id, CSAF document.tracking.id…); give upstream_id (X-Stella-Upstream-Id)`,
    );
  }
  // Checked whether or not the guard runs: the database could not store (NUL) or the API could not
  // read back (ids longer than a URL may carry) what these caps refuse.
  const idViolations = identifierViolations(
    storeFor(recognised.kind),
    { ...p.source, vendor: p.vendor },
    { ...p.upstream, upstream_id: upstreamId },
    limits.identifierLength,
  );
  if (idViolations.length > 0) return violationError(idViolations);
  if (p.input.declaredDigest) {
    const check = checkDeclaredDigest(p.input.bytes, p.input.declaredDigest);
    if (!check.ok) return violated(AocErrors.signatureMismatch, '/upstream/content_hash', `${p.where}${check.reason}`);
  }
  return { upstreamId };
}

/** The envelope around the verbatim document: provenance, recognised content, identifiers, linkset. */
function envelopeOf(
  p: Proposal,
  read: ReadDocument,
  upstreamId: string,
  signature: SignatureInfo,
  options: PrepareOptions,
): AocEnvelope {
  const now = options.clock.now().toISOString();
  const source: SourceInfo = {
    vendor: p.vendor,
    connector: str(p.source.connector) ?? options.defaults.connector,
    version: str(p.source.version) ?? options.defaults.version,
    ...(str(p.source.stream) ? { stream: str(p.source.stream) as string } : {}),
  };
  const { recognised } = read;
  return {
    id: '',
    tenant: options.tenant,
    source,
    upstream: {
      upstream_id: upstreamId,
      document_version: str(p.upstream.document_version) ?? recognised.documentVersion,
      retrieved_at: str(p.upstream.retrieved_at) ? new Date(str(p.upstream.retrieved_at) as string).toISOString() : now,
      content_hash: sha256Digest(p.input.bytes),
      signature,
    },
    content: {
      format: recognised.format,
      spec_version: recognised.specVersion,
      raw: read.doc,
      schema_validation: recognised.schema,
    },
    identifiers: recognised.identifiers,
    linkset: recognised.linkset,
    supersedes: null,
    ingested_at: now,
  };
}

export async function prepareDocument(input: IngestDocument, options: PrepareOptions): Promise<Prepared> {
  const started = performance.now();
  const source = isObject(input.proposal.source) ? input.proposal.source : {};
  const upstream = isObject(input.proposal.upstream) ? input.proposal.upstream : {};
  const vendor = str(source.vendor) ?? 'unknown';
  const p: Proposal = { input, source, upstream, vendor, where: input.location ? `${input.location}: ` : '' };
  const fail = (error: StellaError): Rejected => {
    options.metrics.write(vendor, options.tenant, 'reject');
    for (const v of (error.details?.violations as AocViolation[] | undefined) ?? []) {
      options.metrics.violation(vendor, options.tenant, v.code);
    }
    return rejectionOf(error, vendor, input.location);
  };

  const refusal = checkProposal(p, options);
  if (refusal) return fail(refusal);
  const read = readDocument(p, options.limits);
  if (read instanceof StellaError) return fail(read);
  const identity = identify(p, read, options.limits);
  if (identity instanceof StellaError) return fail(identity);
  const { info: signature, reject: signatureReject } = await options.checkSignature(
    vendor,
    input.bytes,
    input.signature,
  );
  options.metrics.signature(
    vendor,
    options.tenant,
    !signature.present ? 'skipped' : signature.verified ? 'ok' : 'fail',
  );
  if (signatureReject) return fail(violated(AocErrors.signatureMismatch, '/upstream/signature', signatureReject));
  const envelope = envelopeOf(p, read, identity.upstreamId, signature, options);
  if (options.guardEnabled) {
    const violations = guardEnvelope(envelope, { tenant: options.tenant, requireProvenance: true });
    if (violations.length > 0) return fail(violationError(violations));
  }
  options.metrics.latency(vendor, options.tenant, 'transform', (performance.now() - started) / 1000);
  return {
    ok: true,
    doc: {
      store: storeFor(read.recognised.kind),
      envelope,
      raw: read.raw,
      packages: packagesOf(read.recognised.linkset.purls),
      location: input.location,
    },
  };
}

/** An id as quoted in a message: a hostile one may be megabytes long. */
function excerpt(id: string): string {
  return id.length > 128 ? `${id.slice(0, 128)}… (${id.length} characters)` : id;
}

/** The registered definition of a code (AOC or platform-wide, e.g. ERR_LIMIT_JSON_DEPTH). */
function lookup(code: string): ErrorDefinition {
  return lookupError(code) ?? AocErrors.malformedDocument;
}

/** Revisions are numbered from 1; ten digits is more than any chain will reach. */
const LONGEST_REVISION = 9_999_999_999;

/**
 * Provenance strings and the record id built from them, against the identifier cap and for text
 * PostgreSQL refuses. The record id (`{store}:{vendor}:{upstream_id}:{revision}`) is what
 * GET /advisories/raw/{id} is given, so it must fit the same cap as every path id.
 */
function identifierViolations(
  store: RawStore,
  source: Record<string, unknown>,
  upstream: Record<string, unknown>,
  limit: number,
): AocViolation[] {
  const out: AocViolation[] = [];
  const check = (path: string, name: string, value: unknown) => {
    if (typeof value !== 'string') return;
    try {
      checkRequestText('field', name, value, limit);
    } catch (error) {
      const coded = error as StellaError;
      out.push({ code: coded.code, path, message: coded.message });
    }
  };
  for (const key of ['vendor', 'connector', 'version', 'stream']) check(`/source/${key}`, `source.${key}`, source[key]);
  for (const key of ['upstream_id', 'document_version', 'retrieved_at', 'content_hash']) {
    check(`/upstream/${key}`, `upstream.${key}`, upstream[key]);
  }
  const vendor = typeof source.vendor === 'string' ? source.vendor : '';
  const upstreamId = typeof upstream.upstream_id === 'string' ? upstream.upstream_id : '';
  const longestId = recordId(store, vendor, upstreamId, LONGEST_REVISION).length;
  if (out.length === 0 && longestId > limit) {
    out.push({
      code: Errors.identifierTooLong.code,
      path: '/upstream/upstream_id',
      message: `the record id built from source.vendor and upstream.upstream_id would be up to ${longestId} characters; the limit is ${limit} (limits.identifierLength)`,
    });
  }
  return out;
}
