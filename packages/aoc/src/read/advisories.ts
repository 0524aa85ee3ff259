// SPDX-License-Identifier: Apache-2.0
// The AOC room's public answer to "which advisories name these packages?", for the findings room's
// matcher: head revisions only, the verbatim document with its hash and identity, never a merged or
// re-scored view. Lookup is by package-level purl (version and qualifiers cut, canonicalised as the
// linksets are), so the matcher decides versions from the document itself.
import type { Db } from '@stella/platform';
import { packageLevelPurl } from '../formats/purl.ts';
import { advisoriesNamingPackages } from '../sql/linksets.ts';

export interface PackageAdvisory {
  /** The raw record id (`advisory_raw:{vendor}:{upstream id}:{revision}`). */
  recordId: string;
  vendor: string;
  upstreamId: string;
  revision: number;
  /** sha256 of the verbatim document, as stored. */
  contentHash: string;
  /** OSV, CSAF, CVE5, NVD, …: how to read `raw`. */
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

export async function advisoriesForPackages(
  db: Db,
  tenant: string,
  purls: readonly string[],
): Promise<PackageAdvisory[]> {
  const wanted = packageKeys(purls);
  if (wanted.length === 0) return [];
  const wantedSet = new Set(wanted);
  const rows = await db.transaction((tx) => advisoriesNamingPackages(tx, wanted), { tenant });
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
