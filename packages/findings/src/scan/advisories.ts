// SPDX-License-Identifier: Apache-2.0
// What the findings room needs from the advisory store, as a port the server wires to the AOC
// room's door (advisoriesForPackages): head advisories naming a package, verbatim, with the
// identity and hash a finding cites. Findings never reads another room's tables.
import type { Db } from '@stella/platform';

export interface AdvisoryRecord {
  recordId: string;
  vendor: string;
  upstreamId: string;
  contentHash: string;
  /** OSV, CSAF, CVE5, NVD, …: how `raw` is read. */
  format: string;
  aliases: string[];
  /** The package-level keys of the query this advisory names. */
  packages: string[];
  raw: string;
}

export interface AdvisorySource {
  /** Head advisories naming any of these purls' packages (version and qualifiers ignored). */
  advisoriesForPackages(db: Db, tenant: string, purls: readonly string[]): Promise<AdvisoryRecord[]>;
  /** The package-level key of a purl, as `packages` above spells it; undefined for an invalid purl. */
  packageKeys(purls: readonly string[]): string[];
}
