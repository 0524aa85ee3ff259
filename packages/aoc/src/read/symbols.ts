// SPDX-License-Identifier: Apache-2.0
// The AOC room's public answer to "which vulnerable symbols do advisories name for these packages?",
// used by Signals to pick default reachability targets. Only head revisions count, and matching is
// by version-less purl, because a symbol list describes the package across its affected range. An
// advisory that names no symbols for a package is answered too, with an empty list: Signals reports
// it as unknown (no_symbol_data), never as unreachable, rather than leaving it out.
import type { Db } from '@stella/platform';
import { packagesOf } from '../ingest/prepare.ts';
import { symbolsForPackages } from '../sql/linksets.ts';

export interface VulnerableSymbols {
  advisoryId: string;
  vendor: string;
  aliases: string[];
  /** Version-less purl, e.g. pkg:golang/golang.org/x/net. */
  package: string;
  /** Import path / module the symbols live in, when the advisory gives one. */
  path?: string;
  /** Empty when the advisory names no vulnerable symbols for the package. */
  symbols: string[];
}

export async function vulnerableSymbols(
  db: Db,
  tenant: string,
  purls: readonly string[],
): Promise<VulnerableSymbols[]> {
  const wanted = packagesOf(purls);
  if (wanted.length === 0) return [];
  const wantedSet = new Set(wanted);
  const rows = await db.transaction((tx) => symbolsForPackages(tx, wanted), { tenant });
  const out: VulnerableSymbols[] = [];
  for (const row of rows) {
    const withSymbols = new Set<string>();
    const entry = (pkg: string, symbols: string[], path?: string): VulnerableSymbols => ({
      advisoryId: row.upstream_id,
      vendor: row.vendor,
      aliases: row.aliases,
      package: pkg,
      ...(path ? { path } : {}),
      symbols,
    });
    for (const fact of row.symbols ?? []) {
      const pkg = packagesOf([fact.package])[0];
      if (!pkg || !wantedSet.has(pkg) || fact.symbols.length === 0) continue;
      withSymbols.add(pkg);
      out.push(entry(pkg, [...fact.symbols], fact.path));
    }
    for (const pkg of row.packages) if (!withSymbols.has(pkg)) out.push(entry(pkg, []));
  }
  return out;
}
