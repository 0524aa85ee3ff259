// SPDX-License-Identifier: Apache-2.0
// The Export Center's reads of the raw stores: head revisions matching export selectors, counted, or
// one keyset page in record-id order with the bytes as stored.
import type { Queryable } from '@stella/platform';
import type { RawStore } from '../ingest/envelope.ts';
import { packagesOf } from '../ingest/prepare.ts';
import { ENVELOPE_COLUMNS, type EnvelopeRow } from './raw.ts';

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
  const { rows } = await tx.query<EnvelopeRow & { raw: string }>(
    `select ${ENVELOPE_COLUMNS}, raw from ${store} r
      where r.tenant = $${params.length + 1} and ${filter} and (r.id collate "C") > $${params.length + 2}
      order by (r.id collate "C") limit $${params.length + 3}`,
    [...params, tenant, after, pageSize],
  );
  return rows;
}
