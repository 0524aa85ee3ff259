// SPDX-License-Identifier: Apache-2.0
// The read API's answers from the raw stores: listings without the upstream body, a document's
// revision chain, one record as stored, and link-not-merge groups across sources.
import { Errors, StellaError } from '@stella/core';
import { type Db, decodeCursor, encodeCursor } from '@stella/platform';
import type { DocumentKind } from '../formats/types.ts';
import { type AocEnvelope, storeFor } from '../ingest/envelope.ts';
import { linksetGroups } from '../sql/linksets.ts';
import { chainOf, type EnvelopeRow, envelopeFromRow, getRaw, listRawJson } from '../sql/raw.ts';

export interface RawListQuery {
  purl?: string | undefined;
  alias?: string | undefined;
  cve?: string | undefined;
  source?: string | undefined;
  upstream_id?: string | undefined;
  format?: string | undefined;
  since?: string | undefined;
  history?: boolean | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

export interface LinksetsQuery {
  cve?: string | undefined;
  ghsa?: string | undefined;
  alias?: string | undefined;
  purl?: string | undefined;
  source?: string | undefined;
  includeVex?: boolean | undefined;
  page?: number | undefined;
  pageSize?: number | undefined;
}

/** An envelope as listed: everything but the upstream body (fetch `/raw` for that). */
export type ListedEnvelope = Omit<AocEnvelope, 'content'> & { content: Omit<AocEnvelope['content'], 'raw'> };

export interface RawReads {
  /**
   * Heads (or every revision with history) oldest ingest first, keyset-paged: the page
   * `{items: ListedEnvelope[], nextCursor}` as JSON text (its envelopes are built by the database).
   */
  list(tenant: string, kind: DocumentKind, query: RawListQuery): Promise<{ json: string }>;
  /** Every revision of one upstream document, first to last; not found when there is none. */
  history(
    tenant: string,
    kind: DocumentKind,
    source: string,
    upstreamId: string,
  ): Promise<{ source: string; upstream_id: string; head: string; revisions: ListedEnvelope[] }>;
  /** One record: the envelope with the upstream document parsed into content.raw. */
  record(tenant: string, kind: DocumentKind, id: string): Promise<{ envelope: AocEnvelope; contentHash: string }>;
  /** The upstream document exactly as received. */
  rawDocument(tenant: string, kind: DocumentKind, id: string): Promise<{ bytes: Buffer; contentHash: string }>;
  /** Every source naming the vulnerability or package; VEX only for a caller who may read it. */
  linksets(
    tenant: string,
    query: LinksetsQuery,
    caller: { canReadVex: boolean },
  ): Promise<Awaited<ReturnType<typeof linksetGroups>>>;
}

function withoutRaw(row: EnvelopeRow): ListedEnvelope {
  const { content, ...rest } = envelopeFromRow(row);
  const { raw: _raw, ...contentWithoutRaw } = content;
  return { ...rest, content: contentWithoutRaw };
}

export function createRawReads(db: Db): RawReads {
  const readRow = async (tenant: string, kind: DocumentKind, id: string) => {
    const row = await db.transaction((tx) => getRaw(tx, storeFor(kind), id), { tenant });
    if (!row) throw new StellaError(Errors.notFound, `no raw record ${id}`);
    return row;
  };
  return {
    async list(tenant, kind, q) {
      const limit = q.limit ?? 100;
      const rows = await db.transaction(
        (tx) =>
          listRawJson(tx, storeFor(kind), {
            purl: q.purl,
            alias: q.cve ?? q.alias,
            vendor: q.source,
            upstreamId: q.upstream_id,
            format: q.format,
            since: q.since,
            history: q.history === true,
            after: decodeCursor(q.cursor),
            limit: limit + 1,
          }),
        { tenant },
      );
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      const nextCursor = rows.length > limit && last ? encodeCursor(last.ingested, last.id) : null;
      return { json: `{"items":[${page.map((r) => r.json).join(',')}],"nextCursor":${JSON.stringify(nextCursor)}}` };
    },
    async history(tenant, kind, source, upstreamId) {
      const rows = await db.transaction((tx) => chainOf(tx, storeFor(kind), source, upstreamId), { tenant });
      if (rows.length === 0) throw new StellaError(Errors.notFound, `no ${kind} ${upstreamId} from source ${source}`);
      return { source, upstream_id: upstreamId, head: rows.at(-1)!.id, revisions: rows.map(withoutRaw) };
    },
    async record(tenant, kind, id) {
      const row = await readRow(tenant, kind, id);
      const raw = row.raw === undefined ? undefined : JSON.parse(row.raw.replace(/^\uFEFF/, ''));
      return { envelope: envelopeFromRow(row, raw), contentHash: row.content_hash };
    },
    async rawDocument(tenant, kind, id) {
      const row = await readRow(tenant, kind, id);
      return { bytes: Buffer.from(row.raw ?? '', 'utf8'), contentHash: row.content_hash };
    },
    async linksets(tenant, q, caller) {
      const alias = q.cve ?? q.ghsa ?? q.alias;
      if (!alias && !q.purl) throw new StellaError(Errors.validation, 'give cve, ghsa, alias or purl');
      const includeVex = q.includeVex !== false && caller.canReadVex;
      return db.transaction(
        (tx) =>
          linksetGroups(tx, {
            alias,
            purl: q.purl,
            vendor: q.source,
            includeVex,
            page: q.page ?? 1,
            pageSize: q.pageSize ?? 50,
          }),
        { tenant },
      );
    },
  };
}
