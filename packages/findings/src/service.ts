// SPDX-License-Identifier: Apache-2.0
// The findings room's service: SBOM ingest and reads today (issue 13 item 1), the one thing the
// routes and the server's other rooms call. Ingest is named steps: hash → existing? → parse →
// subject → CAS → rows, document and timeline event in one transaction.
import { createHash } from 'node:crypto';
import { type Clock, Errors, type JsonLimits, parseJsonWithLimits, StellaError, type SubjectRef } from '@stella/core';
import { type Db, decodeCursor, encodeCursor, type TenantBlobs, type Timeline, type Tx } from '@stella/platform';
import type { ParsedSbom } from './sbom/model.ts';
import { parseSbom } from './sbom/parse.ts';
import {
  componentOf,
  decodeOrdCursor,
  encodeOrdCursor,
  recordOf,
  type SbomComponentView,
  type SbomProvenance,
  type SbomRecord,
} from './sbom/record.ts';
import { sbomRows } from './sbom/rows.ts';
import { sbomSubjectKey } from './sbom/subject.ts';
import {
  insertComponents,
  insertDocument,
  insertEdges,
  type NewSbomDocument,
  selectComponents,
  selectDocument,
  selectDocuments,
} from './sql/sboms.ts';

/** Where the verbatim SBOM bytes live in the CAS. */
export const SBOM_NAMESPACE = 'findings/sbom';
const DEFAULT_PAGE = 100;

export interface FindingsDeps {
  db: Db;
  blobs: TenantBlobs;
  timeline: Timeline;
  clock: Clock;
  jsonLimits: JsonLimits;
  maxSbomBytes: number;
  /** Called after a new SBOM was committed (not for a duplicate): the module queues its subject's recompute. */
  onIngested?: (tenant: string, subjectKey: string) => Promise<void>;
}

export interface IngestInput {
  subject: SubjectRef;
  provenance: SbomProvenance;
}

export type IngestResult = SbomRecord & { duplicate: boolean };

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface PageQuery {
  limit?: number | undefined;
  cursor?: string | undefined;
}

export interface FindingsService {
  ingestSbom(tenant: string, bytes: Buffer, input: IngestInput): Promise<IngestResult>;
  listSboms(tenant: string, query: PageQuery & { subject?: string | undefined }): Promise<Page<SbomRecord>>;
  getSbom(tenant: string, id: string): Promise<SbomRecord>;
  sbomComponents(tenant: string, id: string, query: PageQuery): Promise<Page<SbomComponentView>>;
  rawSbom(tenant: string, id: string): Promise<{ bytes: Buffer; contentHash: string }>;
}

const notFound = (id: string) =>
  new StellaError(
    Errors.notFound,
    `SBOM ${id.slice(0, 160)} not found: \`stella sbom list\` shows this tenant's SBOMs`,
  );

/** Reads the JSON and the SBOM in it: malformed JSON 400, breached JSON caps and text the database cannot
 * store (NUL, lone surrogates) their codes, formats 415/422. */
export function readSbom(bytes: Buffer, limits: JsonLimits): { doc: unknown; parsed: ParsedSbom } {
  const doc = parseJsonWithLimits(bytes.toString('utf8'), limits);
  return { doc, parsed: parseSbom(doc) };
}

/** The rows of one SBOM and its timeline event, all in `tx`: nothing is half-written on failure. */
export async function writeSbom(
  tx: Tx,
  deps: Pick<FindingsDeps, 'timeline'>,
  tenant: string,
  document: NewSbomDocument,
  parsed: ParsedSbom,
): Promise<boolean> {
  if (!(await insertDocument(tx, tenant, document))) return false;
  const rows = sbomRows(parsed);
  await insertComponents(tx, tenant, document.id, rows.components);
  await insertEdges(tx, tenant, document.id, rows.edges);
  await deps.timeline.append(tx, tenant, {
    category: 'sbom',
    kind: 'sbom.ingested',
    details: {
      id: document.id,
      subjectKey: document.subject_key,
      format: document.format,
      specVersion: document.spec_version,
      contentHash: document.content_hash,
      components: document.component_count,
      edges: document.edge_count,
      issues: document.issues.length,
      provenance: document.provenance,
    },
  });
  return true;
}

function newDocument(
  id: string,
  digest: string,
  bytes: Buffer,
  read: { parsed: ParsedSbom; subjectKey: string; rawUri: string },
  input: IngestInput,
  now: string,
): NewSbomDocument {
  const { parsed } = read;
  const root = parsed.root;
  return {
    id,
    subject_key: read.subjectKey,
    format: parsed.format,
    spec_version: parsed.specVersion,
    document_id: parsed.documentId ?? null,
    content_hash: digest,
    raw_uri: read.rawUri,
    size: bytes.length,
    component_count: parsed.components.length,
    edge_count: sbomRows(parsed).edges.length,
    root: root ? { name: root.name, version: root.version ?? null, purl: root.purl ?? null } : null,
    issues: parsed.issues,
    provenance: input.provenance,
    ingested_at: now,
  };
}

export function createFindingsService(deps: FindingsDeps): FindingsService {
  const { db } = deps;
  const inTenant = <T>(tenant: string, fn: (tx: Tx) => Promise<T>) => db.transaction(fn, { tenant });
  const existing = async (tenant: string, id: string): Promise<IngestResult | undefined> => {
    const row = await inTenant(tenant, (tx) => selectDocument(tx, id));
    return row ? { ...recordOf(row), duplicate: true } : undefined;
  };
  const getSbom = async (tenant: string, id: string): Promise<SbomRecord> => {
    const row = await inTenant(tenant, (tx) => selectDocument(tx, id));
    if (!row) throw notFound(id);
    return recordOf(row);
  };

  return {
    async ingestSbom(tenant, bytes, input) {
      if (bytes.length > deps.maxSbomBytes)
        throw new StellaError(Errors.bodyTooLarge, `SBOM is larger than findings.maxSbomBytes (${deps.maxSbomBytes})`);
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      const id = `sbom:${digest}`;
      const before = await existing(tenant, id);
      if (before) return before;
      const { doc, parsed } = readSbom(bytes, deps.jsonLimits);
      const subjectKey = sbomSubjectKey(input.subject, parsed, doc);
      const stored = await deps.blobs.forTenant(tenant).put(SBOM_NAMESPACE, bytes, { expectedDigest: digest });
      const now = deps.clock.now().toISOString();
      const document = newDocument(id, digest, bytes, { parsed, subjectKey, rawUri: stored.uri }, input, now);
      const written = await inTenant(tenant, (tx) => writeSbom(tx, deps, tenant, document, parsed));
      if (written) await deps.onIngested?.(tenant, subjectKey);
      // Not written: a concurrent ingest of the same bytes committed first; theirs is the record.
      return { ...(await getSbom(tenant, id)), duplicate: !written };
    },

    async listSboms(tenant, query) {
      const limit = query.limit ?? DEFAULT_PAGE;
      const rows = await inTenant(tenant, (tx) =>
        selectDocuments(tx, {
          subjectKey: query.subject?.trim().toLowerCase() || undefined,
          before: decodeCursor(query.cursor),
          limit: limit + 1,
        }),
      );
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map(recordOf),
        nextCursor: rows.length > limit && last ? encodeCursor(last.ingested_at, last.id) : null,
      };
    },

    getSbom,

    async sbomComponents(tenant, id, query) {
      const limit = query.limit ?? DEFAULT_PAGE;
      const afterOrd = decodeOrdCursor(query.cursor);
      const rows = await inTenant(tenant, async (tx) => {
        if (!(await selectDocument(tx, id))) throw notFound(id);
        return selectComponents(tx, id, afterOrd, limit + 1);
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map(componentOf),
        nextCursor: rows.length > limit && last ? encodeOrdCursor(last.ord) : null,
      };
    },

    async rawSbom(tenant, id) {
      const row = await inTenant(tenant, (tx) => selectDocument(tx, id));
      if (!row) throw notFound(id);
      return {
        bytes: await deps.blobs.forTenant(tenant).getBytes(row.raw_uri, deps.maxSbomBytes),
        contentHash: row.content_hash,
      };
    },
  };
}
