// SPDX-License-Identifier: Apache-2.0
// The ingestion pipeline shared by the HTTP routes, the NDJSON batch route, the connectors and the
// CLI dry-run: bytes → strict parse → format recognition and linkset → signature policy → envelope
// → guard. `prepareDocument` is pure apart from signature checks; `writeDocuments` is the only
// writer of advisory_raw and vex_raw.
import {
  type Clock,
  DEFAULT_JSON_LIMITS,
  type ErrorDefinition,
  Errors,
  type JsonLimits,
  lookupError,
  StellaError,
  sha256Digest,
} from '@stella/core';
import { checkRequestText, type Db, type Queryable, type Timeline } from '@stella/platform';
import { AocErrors } from '../errors.ts';
import { parseStrictJson, recognise } from '../formats/index.ts';
import type { DocumentKind } from '../formats/types.ts';
import type { AocMetrics } from '../metrics.ts';
import { checkDeclaredDigest, type DeclaredDigest } from '../signatures/index.ts';
import { type Chain, identityKey, insertRows, loadChains, type RawRow } from '../sql/raw.ts';
import {
  type AocEnvelope,
  type RawStore,
  recordId,
  type SignatureInfo,
  type SourceInfo,
  storeFor,
} from './envelope.ts';
import { type AocViolation, guardEnvelope, violationError } from './guard.ts';

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

export interface PreparedDocument {
  store: RawStore;
  /** Complete except id, supersedes and revision, which the writer assigns. */
  envelope: AocEnvelope;
  raw: string;
  packages: string[];
  location?: string | undefined;
}

export type Prepared =
  | { ok: true; doc: PreparedDocument }
  | { ok: false; error: StellaError; violations: AocViolation[]; vendor: string; location?: string | undefined };

/** Verifies a document's upstream signature under the source's policy. */
export type SignatureChecker = (
  vendor: string,
  bytes: Uint8Array,
  signature: IngestDocument['signature'],
) => Promise<{ info: SignatureInfo; reject?: string | undefined }>;

/** Caps on what a document may hold before anything recursive or the database sees it (config `limits`). */
export interface DocumentLimits {
  json: JsonLimits;
  /** Longest upstream id, provenance value and record id (limits.identifierLength). */
  identifierLength: number;
}

export const DEFAULT_DOCUMENT_LIMITS: DocumentLimits = { json: DEFAULT_JSON_LIMITS, identifierLength: 1024 };

/** The document caps of a loaded configuration's `limits` section. */
export function documentLimitsOf(limits: {
  jsonDepth: number;
  jsonKeys: number;
  jsonStringLength: number;
  identifierLength: number;
}): DocumentLimits {
  return {
    json: { maxDepth: limits.jsonDepth, maxKeys: limits.jsonKeys, maxStringLength: limits.jsonStringLength },
    identifierLength: limits.identifierLength,
  };
}

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

const decoder = new TextDecoder('utf-8', { fatal: true });

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

/** Version-less purls for package-level lookups; canonical purls encode '@' in names as %40. */
export function packagesOf(purls: readonly string[]): string[] {
  return [...new Set(purls.map((p) => (p.includes('@') ? p.slice(0, p.indexOf('@')) : p)))].sort();
}

function reject(error: StellaError, vendor: string, location: string | undefined): Prepared {
  const violations = (error.details?.violations as AocViolation[] | undefined) ?? [
    { code: error.code, path: '', message: error.message },
  ];
  return { ok: false, error, violations, vendor, location };
}

export async function prepareDocument(input: IngestDocument, options: PrepareOptions): Promise<Prepared> {
  const started = performance.now();
  const proposal = input.proposal;
  const proposedSource = isObject(proposal.source) ? proposal.source : {};
  const vendor = str(proposedSource.vendor) ?? 'unknown';
  const where = input.location ? `${input.location}: ` : '';
  const fail = (error: StellaError) => {
    options.metrics.write(vendor, options.tenant, 'reject');
    for (const v of (error.details?.violations as AocViolation[] | undefined) ?? []) {
      options.metrics.violation(vendor, options.tenant, v.code);
    }
    return reject(error, vendor, input.location);
  };
  const violated = (def: ErrorDefinition, path: string, message: string) =>
    fail(violationError([{ code: def.code, path, message }]));

  if (input.bytes.length > options.documentBytes) {
    return fail(
      new StellaError(
        AocErrors.documentTooLarge,
        `${where}document is ${input.bytes.length} bytes; the cap is ${options.documentBytes} (limits.documentBytes)`,
      ),
    );
  }
  if (options.guardEnabled) {
    const violations = guardEnvelope(proposal, { tenant: options.tenant, bytes: input.bytes });
    if (violations.length > 0) return fail(violationError(violations));
  }
  let doc: unknown;
  let raw: string;
  let recognised: ReturnType<typeof recognise>;
  try {
    doc = parseStrictJson(input.bytes, options.limits.json);
    raw = decoder.decode(input.bytes);
    const hint = str(isObject(proposal.content) ? proposal.content.format : undefined);
    recognised = recognise(doc, hint ? { format: hint as never } : undefined);
  } catch (error) {
    if (error instanceof StellaError) {
      return fail(new StellaError(lookup(error.code), `${where}${error.message}`, { details: error.details }));
    }
    throw error;
  }
  if (input.kind !== 'auto' && recognised.kind !== input.kind) {
    return fail(
      new StellaError(
        AocErrors.wrongKind,
        `${where}${recognised.format} is a${recognised.kind === 'advisory' ? 'n advisory' : ' VEX document'}, not ${input.kind === 'vex' ? 'VEX' : 'an advisory'}`,
      ),
    );
  }
  const proposedUpstream = isObject(proposal.upstream) ? proposal.upstream : {};
  const givenId = str(proposedUpstream.upstream_id);
  if (givenId && recognised.upstreamId && givenId !== recognised.upstreamId) {
    return violated(
      AocErrors.missingProvenance,
      '/upstream/upstream_id',
      `upstream_id "${excerpt(givenId)}" does not match the document's own id "${excerpt(recognised.upstreamId)}"`,
    );
  }
  // A document without an id of its own (a CycloneDX VEX without serialNumber) is named by the
  // writer, or else by where the connector fetched it from.
  const upstreamId = recognised.upstreamId || givenId || input.location;
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
    { ...proposedSource, vendor },
    { ...proposedUpstream, upstream_id: upstreamId },
    options.limits.identifierLength,
  );
  if (idViolations.length > 0) return fail(violationError(idViolations));
  if (input.declaredDigest) {
    const check = checkDeclaredDigest(input.bytes, input.declaredDigest);
    if (!check.ok) return violated(AocErrors.signatureMismatch, '/upstream/content_hash', `${where}${check.reason}`);
  }
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
  if (signatureReject) return violated(AocErrors.signatureMismatch, '/upstream/signature', signatureReject);
  const now = options.clock.now().toISOString();
  const source: SourceInfo = {
    vendor,
    connector: str(proposedSource.connector) ?? options.defaults.connector,
    version: str(proposedSource.version) ?? options.defaults.version,
    ...(str(proposedSource.stream) ? { stream: str(proposedSource.stream) as string } : {}),
  };
  const envelope: AocEnvelope = {
    id: '',
    tenant: options.tenant,
    source,
    upstream: {
      upstream_id: upstreamId,
      document_version: str(proposedUpstream.document_version) ?? recognised.documentVersion,
      retrieved_at: str(proposedUpstream.retrieved_at)
        ? new Date(str(proposedUpstream.retrieved_at) as string).toISOString()
        : now,
      content_hash: sha256Digest(input.bytes),
      signature,
    },
    content: {
      format: recognised.format,
      spec_version: recognised.specVersion,
      raw: doc,
      schema_validation: recognised.schema,
    },
    identifiers: recognised.identifiers,
    linkset: recognised.linkset,
    supersedes: null,
    ingested_at: now,
  };
  if (options.guardEnabled) {
    const violations = guardEnvelope(envelope, { tenant: options.tenant, requireProvenance: true });
    if (violations.length > 0) return fail(violationError(violations));
  }
  options.metrics.latency(vendor, options.tenant, 'transform', (performance.now() - started) / 1000);
  return {
    ok: true,
    doc: {
      store: storeFor(recognised.kind),
      envelope,
      raw,
      packages: packagesOf(recognised.linkset.purls),
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

export interface WriteResult {
  /** The new row, or for a no-op the row that already holds this content. */
  id: string;
  store: RawStore;
  result: 'ok' | 'noop';
  /** For a no-op: false when the content is an earlier revision (an upstream revert; the head stays). */
  head: boolean;
  revision: number;
  supersedes: string | null;
  contentHash: string;
  location?: string | undefined;
}

export interface WriteDeps {
  db: Db;
  timeline: Timeline;
  metrics: AocMetrics;
}

export interface WriteContext {
  initiator: string;
  /** More work for the same transaction (a connector's cursor), so it commits with the rows. */
  inTransaction?: ((tx: Queryable) => Promise<void>) | undefined;
}

const MAX_ATTEMPTS = 4;

/**
 * Writes prepared documents for one tenant in one transaction: a document whose hash equals its
 * chain head is a no-op; any other becomes the next revision, superseding the head. The timeline
 * event commits with the rows. Concurrent writers of the same chain collide on the chain index and
 * the transaction is retried.
 */
export async function writeDocuments(
  deps: WriteDeps,
  tenant: string,
  docs: readonly PreparedDocument[],
  context: WriteContext,
): Promise<WriteResult[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      const started = performance.now();
      const results = await deps.db.transaction(
        async (tx) => {
          const written = await writeInTx(tx, deps, tenant, docs, context);
          await context.inTransaction?.(tx);
          return written;
        },
        { tenant },
      );
      const seconds = (performance.now() - started) / 1000;
      const vendors = new Set<string>();
      for (const [i, r] of results.entries()) {
        const vendor = docs[i]!.envelope.source.vendor;
        vendors.add(vendor);
        deps.metrics.write(vendor, tenant, r.result);
        if (r.result === 'ok') deps.metrics.revisionCount(vendor, tenant, r.revision);
      }
      for (const vendor of vendors) deps.metrics.latency(vendor, tenant, 'write', seconds);
      return results;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt < MAX_ATTEMPTS && (code === '23505' || code === '40001')) continue;
      throw mapDatabaseError(error);
    }
  }
}

async function writeInTx(
  tx: Queryable,
  deps: WriteDeps,
  tenant: string,
  docs: readonly PreparedDocument[],
  context: WriteContext,
): Promise<WriteResult[]> {
  const chains = new Map<RawStore, Map<string, Chain>>();
  const rows = new Map<RawStore, RawRow[]>();
  for (const store of new Set(docs.map((d) => d.store))) {
    const identities = docs
      .filter((d) => d.store === store)
      .map((d) => ({ vendor: d.envelope.source.vendor, upstreamId: d.envelope.upstream.upstream_id }));
    chains.set(store, await loadChains(tx, store, tenant, identities));
    rows.set(store, []);
  }
  const reverts: WriteResult[] = [];
  // One pass in input order, so several revisions of one document in a batch chain in that order.
  const results = docs.map((doc): WriteResult => {
    const { store } = doc;
    const storeChains = chains.get(store)!;
    const { vendor } = doc.envelope.source;
    const key = identityKey(vendor, doc.envelope.upstream.upstream_id);
    const chain = storeChains.get(key);
    const contentHash = doc.envelope.upstream.content_hash;
    const location = doc.location;
    const existing = chain?.byHash.get(contentHash);
    if (chain && existing) {
      // Spec §3.3: (tenant, vendor, upstream_id, content_hash) is the idempotency key, so a content
      // the chain already holds is a no-op even when it is not the head (an upstream revert).
      const result: WriteResult = {
        id: existing,
        store,
        result: 'noop',
        head: existing === chain.head.id,
        revision: chain.head.revision,
        supersedes: null,
        contentHash,
        location,
      };
      if (!result.head) reverts.push({ ...result, supersedes: chain.head.id });
      return result;
    }
    const revision = (chain?.head.revision ?? 0) + 1;
    const id = recordId(store, vendor, doc.envelope.upstream.upstream_id, revision);
    const envelope: AocEnvelope = { ...doc.envelope, id, tenant, supersedes: chain?.head.id ?? null };
    rows.get(store)!.push({ envelope, revision, raw: doc.raw, packages: doc.packages });
    const head = { id, revision, contentHash };
    if (chain) {
      chain.head = head;
      chain.byHash.set(contentHash, id);
    } else {
      storeChains.set(key, { head, byHash: new Map([[contentHash, id]]) });
    }
    return { id, store, result: 'ok', head: true, revision, supersedes: envelope.supersedes, contentHash, location };
  });
  for (const [store, storeRows] of rows) await insertRows(tx, store, storeRows);
  if (reverts.length > 0) {
    // The upstream went back to content the chain already holds: no row (idempotency), but the
    // observation is on the record so an auditor sees that the head is no longer what upstream serves.
    await deps.timeline.append(tx, tenant, {
      category: 'aoc',
      kind: 'aoc.raw.revert_observed',
      details: {
        initiator: context.initiator,
        documents: reverts
          .slice(0, 100)
          .map((r) => ({ matches: r.id, head: r.supersedes, content_hash: r.contentHash })),
        truncated: reverts.length > 100,
      },
    });
  }
  const written = results.filter((r) => r.result === 'ok');
  if (written.length > 0) {
    await deps.timeline.append(tx, tenant, {
      category: 'aoc',
      kind: 'aoc.raw.ingested',
      details: {
        initiator: context.initiator,
        written: written.length,
        noop: results.length - written.length,
        // Every row, not a sample: `stella aoc verify` uses these events as the witness of what was
        // written through stella (rows without one were slipped in; ones missing were deleted).
        documents: results.flatMap((r, i) =>
          r.result === 'ok'
            ? [
                {
                  id: r.id,
                  vendor: docs[i]!.envelope.source.vendor,
                  content_hash: r.contentHash,
                  supersedes: r.supersedes,
                },
              ]
            : [],
        ),
      },
    });
  }
  return results;
}

/** Database refusals name their constraint after the AOC code (see the raw-store migration). */
export function mapDatabaseError(error: unknown): unknown {
  const message = (error as Error)?.message ?? '';
  const constraint = (error as { constraint?: string })?.constraint ?? '';
  const match = /err_aoc_00([1-7])/i.exec(`${constraint} ${message}`);
  if (!match) return error;
  const code = `ERR_AOC_00${match[1]}`;
  const def = Object.values(AocErrors).find((d) => d.code === code) ?? AocErrors.idempotency;
  return new StellaError(def, `refused by the database: ${message}`, { cause: error });
}
