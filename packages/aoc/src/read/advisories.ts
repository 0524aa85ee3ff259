// SPDX-License-Identifier: Apache-2.0
// The AOC room's public answer to "which advisories (or VEX documents) name these packages?", for the
// findings room's matcher and VEX join: head revisions only, the verbatim document with its hash and
// identity, never a merged or re-scored view. Lookup is by package-level purl (version and qualifiers
// cut, canonicalised as the linksets are), so the reader decides versions from the document itself.
// AOC identifies the products a VEX document names; reading its statements and deciding which apply
// to a finding is the findings room's work, done on `raw`.
import type { Db } from '@stella/platform';
import { packageLevelPurl } from '../formats/purl.ts';
import type { RawStore } from '../ingest/envelope.ts';
import { headsNamingPackages } from '../sql/linksets.ts';

/** A head raw record naming a package: an advisory (advisory_raw) or a VEX document (vex_raw). */
export interface PackageRecord {
  /** The raw record id (`{store}:{vendor}:{upstream id}:{revision}`). */
  recordId: string;
  vendor: string;
  upstreamId: string;
  revision: number;
  /** sha256 of the verbatim document, as stored. */
  contentHash: string;
  /** OSV, CSAF, CVE5, NVD, OPENVEX, CSAF_VEX, CYCLONEDX_VEX, …: how to read `raw`. */
  format: string;
  specVersion: string;
  aliases: string[];
  /** The package-level purls of the query this advisory names. */
  packages: string[];
  /** The document exactly as received. */
  raw: string;
}

/** Package-level keys of the given purls (invalid ones are left out). */
export function packageKeys(purls: readonly string[]): string[] {
  return [...new Set(purls.flatMap((p) => packageLevelPurl(p) ?? []))].sort();
}

export type PackageAdvisory = PackageRecord;
export type PackageVex = PackageRecord;

/** Head advisories naming any of these purls' packages, in id order. */
export const advisoriesForPackages = (db: Db, tenant: string, purls: readonly string[]) =>
  recordsForPackages(db, tenant, 'advisory_raw', purls);

/** Head VEX documents naming any of these purls' packages, in id order. */
export const vexForPackages = (db: Db, tenant: string, purls: readonly string[]) =>
  recordsForPackages(db, tenant, 'vex_raw', purls);

async function recordsForPackages(
  db: Db,
  tenant: string,
  store: RawStore,
  purls: readonly string[],
): Promise<PackageRecord[]> {
  const wanted = packageKeys(purls);
  if (wanted.length === 0) return [];
  const wantedSet = new Set(wanted);
  const rows = await db.transaction((tx) => headsNamingPackages(tx, store, wanted), { tenant });
  return rows.map((row) => ({
    recordId: row.id,
    vendor: row.vendor,
    upstreamId: row.upstream_id,
    revision: row.revision,
    contentHash: row.content_hash,
    format: row.format,
    specVersion: row.spec_version,
    aliases: row.aliases ?? [],
    packages: row.packages.filter((p) => wantedSet.has(p)),
    raw: row.raw,
  }));
}
