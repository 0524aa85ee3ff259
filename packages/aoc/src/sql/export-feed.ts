// SPDX-License-Identifier: Apache-2.0
// The Export Center's reads of the raw stores: head revisions matching export selectors, counted, or
// one keyset page in record-id order with the bytes as stored.
import type { Queryable } from '@stella/platform';
import type { RawStore } from '../ingest/envelope.ts';
import { packagesOf } from '../ingest/prepare.ts';
import { ENVELOPE_COLUMNS, type EnvelopeRow, isoSql, LISTED_ENVELOPE_JSON } from './raw.ts';

export interface RawSelectors {
  /** Ingested at or after (RFC 3339). */
  since?: string | undefined;
  /** Ingested before (RFC 3339). */
  until?: string | undefined;
  /** Source vendors. */
  sources?: readonly string[] | undefined;
  /** purl types, e.g. npm, golang, pypi. */
  ecosystems?: readonly string[] | undefined;
  /** purls (version-less or with a version; matched at package level). */
  purls?: readonly string[] | undefined;
}

/** Which revisions a read covers: the heads (json:raw, trivy:db), or every revision of every chain (mirrors). */
export type RevisionScope = 'heads' | 'all';

function whereFor(selectors: RawSelectors, scope: RevisionScope): { sql: string; params: unknown[] } {
  const where =
    scope === 'heads'
      ? [`not exists (select 1 from %STORE% n where n.tenant = r.tenant and n.supersedes = r.id)`]
      : ['true'];
  const params: unknown[] = [];
  const add = (clause: (p: string) => string, value: unknown) => {
    params.push(value);
    where.push(clause(`$${params.length}`));
  };
  if (selectors.since) add((p) => `r.ingested_at >= ${p}::timestamptz`, selectors.since);
  if (selectors.until) add((p) => `r.ingested_at < ${p}::timestamptz`, selectors.until);
  if (selectors.sources?.length) add((p) => `r.source_vendor = any(${p}::text[])`, [...selectors.sources]);
  if (selectors.ecosystems?.length) {
    add(
      (p) =>
        `exists (select 1 from unnest(r.packages) pkg where split_part(substr(pkg, 5), '/', 1) = any(${p}::text[]))`,
      [...selectors.ecosystems],
    );
  }
  if (selectors.purls?.length) add((p) => `r.packages && ${p}::text[]`, packagesOf(selectors.purls));
  return { sql: where.join(' and '), params };
}

/** How many head documents of `store` match the selectors. */
export async function countHeads(
  tx: Queryable,
  store: RawStore,
  selectors: RawSelectors,
  scope: RevisionScope = 'heads',
): Promise<number> {
  const { sql, params } = whereFor(selectors, scope);
  const { rows } = await tx.query<{ n: string | number }>(
    `select count(*) as n from ${store} r where ${sql.replaceAll('%STORE%', store)}`,
    params,
  );
  return Number(rows[0]?.n ?? 0);
}

/** The page of matching heads after record id `after` (in "C" collation order), at most `pageSize`. */
export async function headsPage(
  tx: Queryable,
  store: RawStore,
  tenant: string,
  selectors: RawSelectors,
  after: string,
  pageSize: number,
  scope: RevisionScope = 'heads',
): Promise<Array<EnvelopeRow & { raw: string }>> {
  const { sql, params } = whereFor(selectors, scope);
  const filter = sql.replaceAll('%STORE%', store);
  const { rows } = await tx.query<EnvelopeRow & { raw: string; bom: boolean }>(
    // PGlite's result decoder drops a U+FEFF that starts a text value: `bom` says to put it back.
    `select ${ENVELOPE_COLUMNS}, raw, left(raw, 1) = chr(65279) as bom from ${store} r
      where r.tenant = $${params.length + 1} and ${filter} and (r.id collate "C") > $${params.length + 2}
      order by (r.id collate "C") limit $${params.length + 3}`,
    [...params, tenant, after, pageSize],
  );
  return rows.map(({ bom, ...row }) =>
    bom && !row.raw.startsWith('\uFEFF') ? { ...row, raw: `\uFEFF${row.raw}` } : row,
  );
}

/**
 * A head as its json:raw line: built by the database from the record's export frame (migration
 * 0006) around the document's JSON string, or, for a record stored before frames existed (or whose
 * frame is half missing), its envelope as JSON text and its raw document for the caller to build the
 * line from.
 */
export interface LineRow {
  id: string;
  content_hash: string;
  /** ISO time (toISOString form). */
  retrieved_at: string;
  line: string | null;
  /** Only when line is null: the envelope without content.raw, as JSON text. */
  envelope: string | null;
  /** Only when line is null: the raw text's UTF-8 bytes (PGlite's decoder would drop a leading U+FEFF of text). */
  raw: Uint8Array | null;
}

const LINE_COLUMNS = `r.id, r.content_hash, ${isoSql('r.retrieved_at')} as retrieved_at,
  r.export_head || to_json(r.raw)::text || r.export_tail as line,
  case when r.export_head is null or r.export_tail is null then ${LISTED_ENVELOPE_JSON} end as envelope,
  case when r.export_head is null or r.export_tail is null then convert_to(r.raw, 'UTF8') end as raw`;

/**
 * The heads matching the selectors as lines, in record-id byte order: a query whose parameters
 * follow `params`. With `page`, only the `page.limit` rows after `page.after` (keyset).
 */
export function headLinesQuery(
  store: RawStore,
  tenant: string,
  selectors: RawSelectors,
  page?: { after: string; limit: number },
): { sql: string; params: unknown[] } {
  const { sql, params } = whereFor(selectors, 'heads');
  const filter = sql.replaceAll('%STORE%', store);
  const all = [...params, tenant];
  let where = `r.tenant = $${all.length} and ${filter}`;
  let limit = '';
  if (page) {
    all.push(page.after, page.limit);
    where += ` and (r.id collate "C") > $${all.length - 1}`;
    limit = ` limit $${all.length}`;
  }
  return {
    sql: `select ${LINE_COLUMNS} from ${store} r where ${where} order by (r.id collate "C")${limit}`,
    params: all,
  };
}
