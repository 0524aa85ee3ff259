// SPDX-License-Identifier: Apache-2.0
// Every SQL statement over the SBOM tables (migrations/0001_sboms.sql). Components and edges go in as
// multi-row INSERTs of at most ROWS_PER_INSERT rows: one statement per row made a 100k-component SBOM
// take minutes, and one statement for all of them would pass PostgreSQL's 65535-parameter limit.
import type { Queryable } from '@stella/platform';

export const ROWS_PER_INSERT = 1000;

const TIME = `to_char(ingested_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const DOCUMENT_COLUMNS = `id, subject_key, format, spec_version, document_id, content_hash, raw_uri,
  size::float8 as size, component_count, edge_count, root, issues, provenance, ${TIME} as ingested_at`;

export interface SbomDocumentRow {
  id: string;
  subject_key: string;
  format: string;
  spec_version: string;
  document_id: string | null;
  content_hash: string;
  raw_uri: string;
  size: number;
  component_count: number;
  edge_count: number;
  root: unknown;
  issues: unknown;
  provenance: unknown;
  ingested_at: string;
}

export type NewSbomDocument = Omit<SbomDocumentRow, 'root' | 'issues' | 'provenance'> & {
  root: object | null;
  issues: readonly object[];
  provenance: object;
};

export interface SbomComponentRow {
  ord: number;
  ref: string;
  name: string;
  version: string | null;
  purl: string | null;
  ecosystem: string | null;
  package_name: string;
  identified_by: string;
  is_root: boolean;
}

export interface SbomEdgeRow {
  from_ord: number;
  to_ord: number;
}

/** Inserts the document row; false when a concurrent ingest of the same bytes committed it first. */
export async function insertDocument(tx: Queryable, tenant: string, doc: NewSbomDocument): Promise<boolean> {
  const { rowCount } = await tx.query(
    `insert into sbom_document (tenant, id, subject_key, format, spec_version, document_id, content_hash, raw_uri,
       size, component_count, edge_count, root, issues, provenance, ingested_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13::jsonb, $14::jsonb, $15::timestamptz)
     on conflict (tenant, id) do nothing`,
    [
      tenant,
      doc.id,
      doc.subject_key,
      doc.format,
      doc.spec_version,
      doc.document_id,
      doc.content_hash,
      doc.raw_uri,
      doc.size,
      doc.component_count,
      doc.edge_count,
      doc.root === null ? null : JSON.stringify(doc.root),
      JSON.stringify(doc.issues),
      JSON.stringify(doc.provenance),
      doc.ingested_at,
    ],
  );
  return rowCount === 1;
}

/** One multi-row INSERT: `columns` values per row, after the tenant and SBOM id ($1, $2). */
async function insertRows(
  tx: Queryable,
  table: string,
  columns: readonly string[],
  prefix: readonly unknown[],
  rows: readonly (readonly unknown[])[],
): Promise<void> {
  const params: unknown[] = [...prefix];
  const tuples = rows.map((row) => {
    const slots = row.map((value) => {
      params.push(value);
      return `$${params.length}`;
    });
    return `($1, $2, ${slots.join(', ')})`;
  });
  await tx.query(`insert into ${table} (tenant, sbom_id, ${columns.join(', ')}) values ${tuples.join(', ')}`, params);
}

/** Inserts rows in batches of ROWS_PER_INSERT, inside the caller's transaction. */
async function insertInBatches(
  tx: Queryable,
  table: string,
  columns: readonly string[],
  prefix: readonly unknown[],
  rows: readonly (readonly unknown[])[],
): Promise<void> {
  for (let start = 0; start < rows.length; start += ROWS_PER_INSERT)
    await insertRows(tx, table, columns, prefix, rows.slice(start, start + ROWS_PER_INSERT));
}

export async function insertComponents(
  tx: Queryable,
  tenant: string,
  sbomId: string,
  rows: readonly SbomComponentRow[],
): Promise<void> {
  const columns = ['ord', 'ref', 'name', 'version', 'purl', 'ecosystem', 'package_name', 'identified_by', 'is_root'];
  const values = rows.map((r) => [
    r.ord,
    r.ref,
    r.name,
    r.version,
    r.purl,
    r.ecosystem,
    r.package_name,
    r.identified_by,
    r.is_root,
  ]);
  await insertInBatches(tx, 'sbom_component', columns, [tenant, sbomId], values);
}

export async function insertEdges(
  tx: Queryable,
  tenant: string,
  sbomId: string,
  rows: readonly SbomEdgeRow[],
): Promise<void> {
  const values = rows.map((r) => [r.from_ord, r.to_ord]);
  await insertInBatches(tx, 'sbom_edge', ['from_ord', 'to_ord'], [tenant, sbomId], values);
}

export async function selectDocument(tx: Queryable, id: string): Promise<SbomDocumentRow | undefined> {
  const { rows } = await tx.query<SbomDocumentRow>(`select ${DOCUMENT_COLUMNS} from sbom_document where id = $1`, [id]);
  return rows[0];
}

export interface DocumentPage {
  subjectKey: string | undefined;
  /** The (ingested_at, id) of the last row of the previous page. */
  before: { time: string; id: string } | undefined;
  limit: number;
}

/** The tenant's SBOMs, newest first, optionally of one subject. */
export async function selectDocuments(tx: Queryable, page: DocumentPage): Promise<SbomDocumentRow[]> {
  const { rows } = await tx.query<SbomDocumentRow>(
    `select ${DOCUMENT_COLUMNS} from sbom_document
     where ($1::text is null or subject_key = $1)
       and ($2::timestamptz is null or (ingested_at, id) < ($2::timestamptz, $3::text))
     order by ingested_at desc, id desc
     limit $4`,
    [page.subjectKey ?? null, page.before?.time ?? null, page.before?.id ?? null, page.limit],
  );
  return rows;
}

/** Components of one SBOM by ord, after `afterOrd`. */
export async function selectComponents(
  tx: Queryable,
  sbomId: string,
  afterOrd: number,
  limit: number,
): Promise<SbomComponentRow[]> {
  const { rows } = await tx.query<SbomComponentRow>(
    `select ord, ref, name, version, purl, ecosystem, package_name, identified_by, is_root
     from sbom_component where sbom_id = $1 and ord > $2 order by ord limit $3`,
    [sbomId, afterOrd, limit],
  );
  return rows;
}

/** The CAS objects the tenant's SBOM documents hold (Module.blobReferences). */
export async function sbomBlobUris(tx: Queryable): Promise<string[]> {
  const { rows } = await tx.query<{ raw_uri: string }>('select raw_uri from sbom_document');
  return rows.map((r) => r.raw_uri);
}
