// SPDX-License-Identifier: Apache-2.0
// The AOC room's public answer to "which VEX documents name these packages?", for the findings
// room's VEX join: head revisions of vex_raw only, each verbatim with its hash and identity. AOC
// identifies the products a document names; reading statements and deciding which apply to a
// finding is the findings room's work, done on `raw`.
import type { Db } from '@stella/platform';
import { vexNamingPackages } from '../sql/linksets.ts';
import { packageKeys } from './advisories.ts';

export interface PackageVex {
  /** The raw record id (`vex_raw:{vendor}:{upstream id}:{revision}`). */
  recordId: string;
  vendor: string;
  upstreamId: string;
  revision: number;
  /** sha256 of the verbatim document, as stored. */
  contentHash: string;
  /** OPENVEX, CSAF_VEX or CYCLONEDX_VEX: how to read `raw`. */
  format: string;
  specVersion: string;
  /** Every vulnerability id the document names (its linkset aliases). */
  aliases: string[];
  /** The package-level purls of the query this document names. */
  packages: string[];
  /** The document exactly as received. */
  raw: string;
}

/** Head VEX documents naming any of these purls' packages (version and qualifiers ignored), in id order. */
export async function vexForPackages(db: Db, tenant: string, purls: readonly string[]): Promise<PackageVex[]> {
  const wanted = packageKeys(purls);
  if (wanted.length === 0) return [];
  const wantedSet = new Set(wanted);
  const rows = await db.transaction((tx) => vexNamingPackages(tx, wanted), { tenant });
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
