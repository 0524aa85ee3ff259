// SPDX-License-Identifier: Apache-2.0
// The AOC room's answer to the Export Center: the head revisions of a tenant's raw documents that
// match export selectors, in record-id order, page by page, with their bytes exactly as stored.
// Export reads the raw stores only through these two functions.
import type { Db, Queryable } from '@stella/platform';
import type { AocEnvelope, RawStore } from '../ingest/envelope.ts';
import { packagesOf } from '../ingest/prepare.ts';
import { ENVELOPE_COLUMNS, type EnvelopeRow, envelopeFromRow } from '../sql/raw.ts';

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

export interface RawExportRecord {
  store: RawStore;
  /** The envelope, with content.raw unset. */
  envelope: AocEnvelope;
  /** The upstream document exactly as received (its sha256 is envelope.upstream.content_hash). */
  raw: string;
  retrievedAt: string;
}

function whereFor(selectors: RawSelectors): { sql: string; params: unknown[] } {
  const where = [`not exists (select 1 from %STORE% n where n.tenant = r.tenant and n.supersedes = r.id)`];
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
export async function countRawForExport(
  db: Db,
  tenant: string,
  store: RawStore,
  selectors: RawSelectors,
): Promise<number> {
  const { sql, params } = whereFor(selectors);
  const { rows } = await db.transaction(
    (tx) =>
      tx.query<{ n: string | number }>(
        `select count(*) as n from ${store} r where ${sql.replaceAll('%STORE%', store)}`,
        params,
      ),
    { tenant },
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Head documents matching the selectors in id order, one page per transaction (keyset on id). The
 * next page is fetched while the caller works on the current one, so reading overlaps writing.
 */
export async function* streamRawForExport(
  db: Db,
  tenant: string,
  store: RawStore,
  selectors: RawSelectors,
  pageSize = 500,
): AsyncGenerator<RawExportRecord[]> {
  const { sql, params } = whereFor(selectors);
  const filter = sql.replaceAll('%STORE%', store);
  const fetchAfter = (after: string) =>
    db.transaction(
      (tx: Queryable) =>
        tx.query<EnvelopeRow & { raw: string }>(
          `select ${ENVELOPE_COLUMNS}, raw from ${store} r
            where r.tenant = $${params.length + 1} and ${filter} and (r.id collate "C") > $${params.length + 2}
            order by (r.id collate "C") limit $${params.length + 3}`,
          [...params, tenant, after, pageSize],
        ),
      { tenant },
    );
  let pending = fetchAfter('');
  for (;;) {
    const page = await pending;
    const full = page.rows.length === pageSize;
    if (full) {
      pending = fetchAfter(page.rows.at(-1)!.id);
      // Surfaces on the next await; until then an early return must not leave it unhandled.
      pending.catch(() => {});
    }
    if (page.rows.length > 0) {
      yield page.rows.map((row) => {
        const { raw, ...columns } = row;
        const envelope = envelopeFromRow(columns);
        return { store, envelope, raw, retrievedAt: envelope.upstream.retrieved_at };
      });
    }
    if (!full) return;
  }
}
