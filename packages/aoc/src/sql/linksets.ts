// SPDX-License-Identifier: Apache-2.0
// Link-not-merge queries: find every head record, in both stores, whose linkset names an alias or a
// package, and return them side by side without fusing anything.
import type { Queryable } from '@stella/platform';
import type { RawStore } from '../ingest/envelope.ts';

export interface LinksetObservation {
  store: RawStore;
  id: string;
  vendor: string;
  upstream_id: string;
  format: string;
  content_hash: string;
  retrieved_at: string;
  aliases: string[];
  purls: string[];
}

export interface LinksetQuery {
  alias?: string | undefined;
  purl?: string | undefined;
  vendor?: string | undefined;
  includeVex: boolean;
  page: number;
  pageSize: number;
}

function headsMatching(store: RawStore, params: unknown[], q: LinksetQuery): string {
  const where = [`not exists (select 1 from ${store} n where n.tenant = r.tenant and n.supersedes = r.id)`];
  const add = (sql: (p: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  // Through the lookup tables (migrations 0003, 0004): under RLS only their text keys are indexed.
  if (q.alias) add((p) => `r.id in (select k.id from ${store}_alias k where k.alias = ${p})`, q.alias);
  if (q.purl) {
    if (q.purl.includes('@')) add((p) => `r.linkset -> 'purls' ? ${p}`, q.purl);
    else add((p) => `r.id in (select k.id from ${store}_package k where k.package = ${p})`, q.purl);
  }
  if (q.vendor) add((p) => `r.source_vendor = ${p}`, q.vendor);
  return `select '${store}' as store, r.id, r.source_vendor as vendor, r.upstream_id, r.content_format as format,
                 r.content_hash, r.retrieved_at, r.linkset -> 'aliases' as aliases, r.linkset -> 'purls' as purls
            from ${store} r where ${where.join(' and ')}`;
}

export async function linksetGroups(tx: Queryable, q: LinksetQuery) {
  const params: unknown[] = [];
  const parts = [headsMatching('advisory_raw', params, q)];
  if (q.includeVex) parts.push(headsMatching('vex_raw', params, q));
  params.push(q.pageSize + 1, (q.page - 1) * q.pageSize);
  const { rows } = await tx.query<Omit<LinksetObservation, 'retrieved_at'> & { retrieved_at: Date | string }>(
    `${parts.join(' union all ')} order by vendor, upstream_id, store limit $${params.length - 1} offset $${params.length}`,
    params,
  );
  const observations = rows.slice(0, q.pageSize).map((r) => ({
    ...r,
    retrieved_at: new Date(r.retrieved_at).toISOString(),
  }));
  return {
    query: { alias: q.alias ?? null, purl: q.purl ?? null, source: q.vendor ?? null },
    sources: [...new Set(observations.map((o) => o.vendor))].sort(),
    observations,
    page: q.page,
    pageSize: q.pageSize,
    hasMore: rows.length > q.pageSize,
  };
}

/** Head advisories whose linkset packages match (versions ignored), with their vulnerable-symbol facts if any. */
export async function symbolsForPackages(tx: Queryable, packages: readonly string[]) {
  if (packages.length === 0) return [];
  const { rows } = await tx.query<{
    upstream_id: string;
    vendor: string;
    aliases: string[];
    symbols: Array<{ package: string; path?: string; symbols: string[] }> | null;
    /** The asked-for packages the record names (version-less), sorted. */
    packages: string[];
  }>(
    `select r.upstream_id, r.source_vendor as vendor, r.linkset -> 'aliases' as aliases, r.linkset -> 'symbols' as symbols,
            array(select p.package from advisory_raw_package p
                   where p.tenant = r.tenant and p.id = r.id and p.package = any($1::text[]) order by 1) as packages
       from advisory_raw r
      where r.id in (select p.id from advisory_raw_package p where p.package = any($1::text[]))
        and not exists (select 1 from advisory_raw n where n.tenant = r.tenant and n.supersedes = r.id)
      order by r.source_vendor, r.upstream_id`,
    [packages],
  );
  return rows;
}

/** A head record naming one of the packages, with its verbatim text (what a matcher or VEX reader reads). */
export interface PackageRecordRow {
  id: string;
  vendor: string;
  upstream_id: string;
  revision: number;
  content_hash: string;
  format: string;
  spec_version: string;
  aliases: string[];
  packages: string[];
  raw: string;
}

/** Head revisions of one raw store whose package-level purls overlap the given ones, in id order. */
export async function headsNamingPackages(
  tx: Queryable,
  store: RawStore,
  packages: readonly string[],
): Promise<PackageRecordRow[]> {
  if (packages.length === 0) return [];
  // Through the btree lookup table (migrations/0003_package_lookup.sql): `&&` on `packages` cannot use
  // its index under row-level security, text equality can.
  const { rows } = await tx.query<PackageRecordRow>(
    `select r.id, r.source_vendor as vendor, r.upstream_id, r.revision, r.content_hash,
            r.content_format as format, r.spec_version, r.linkset -> 'aliases' as aliases, r.packages, r.raw
       from ${store} r
      where r.id in (select p.id from ${store}_package p where p.package = any($1::text[]))
        and not exists (select 1 from ${store} n where n.tenant = r.tenant and n.supersedes = r.id)
      order by r.id collate "C"`,
    [packages],
  );
  return rows;
}
