// SPDX-License-Identifier: Apache-2.0
// OSV records (GHSA files of github/advisory-database, Go vulndb, PYSEC, AlmaLinux, Chainguard, …):
// what the record says about itself and which identifiers it names, with pointers into it.

import type { Extracted, LinksetCollector } from './linkset.ts';
import {
  arrayAt,
  identifiersCollector,
  isRecord,
  type JsonRecord,
  linksetCollector,
  pointerOf,
  sortedUniqueText,
  textAt,
} from './linkset.ts';
import { packageLevelPurl, purlForEcosystem } from './purl.ts';

/** An OSV record has a string `id` and a string `modified` (the only required fields). */
export function looksLikeOsv(doc: JsonRecord): boolean {
  return typeof doc.id === 'string' && typeof doc.modified === 'string';
}

export function extractOsv(doc: JsonRecord): Extracted {
  const links = linksetCollector();
  const ids = identifiersCollector();
  const upstreamId = textAt(doc.id) ?? '';

  links.alias(doc.id, '/id');
  ids.any(doc.id);
  arrayAt(doc.aliases).forEach((alias, i) => {
    links.alias(alias, pointerOf(['aliases', i]));
    ids.any(alias);
    ids.alias(alias);
  });
  // `upstream` (OSV 1.7) names the vulnerabilities this record derives from (a CGA's or DSA's CVEs):
  // the same vulnerability seen upstream, so an alias. `related` names *other* vulnerabilities and
  // is deliberately not read.
  arrayAt(doc.upstream).forEach((id, i) => {
    links.alias(id, pointerOf(['upstream', i]));
    ids.any(id);
  });

  arrayAt(doc.references).forEach((reference, i) => {
    if (isRecord(reference)) links.reference(reference.type, reference.url, pointerOf(['references', i]));
  });

  arrayAt(doc.affected).forEach((affected, i) => {
    if (!isRecord(affected)) return;
    const packagePurl = affectedPackage(links, affected, i);
    affectedSymbols(links, affected, i, packagePurl);
  });

  return {
    kind: 'advisory',
    format: 'OSV',
    specVersion: textAt(doc.schema_version) ?? '1.0.0',
    upstreamId,
    documentVersion: textAt(doc.modified) ?? null,
    // Presence is the fact we record, whatever the date (withdrawn_after_now.json says 3001):
    // "is it withdrawn yet" depends on the clock, and ingest must give the same envelope for the
    // same bytes at any time. Consumers compare the raw `withdrawn` timestamp with their own now.
    withdrawn: doc.withdrawn !== undefined && doc.withdrawn !== null,
    identifiers: ids.build(),
    linkset: links.build(),
  };
}

/** Adds the affected package's purl and returns its package-level form (or `ecosystem/name`). */
function affectedPackage(links: LinksetCollector, affected: JsonRecord, i: number): string | null {
  const pkg = affected.package;
  if (!isRecord(pkg)) return null;
  const given = links.purl(pkg.purl, pointerOf(['affected', i, 'package', 'purl']));
  if (given !== null) return packageLevelPurl(given);
  const ecosystem = textAt(pkg.ecosystem);
  const name = textAt(pkg.name);
  if (ecosystem === undefined || name === undefined) return null;
  const built = purlForEcosystem(ecosystem, name);
  if (built === null) return `${ecosystem}/${name}`;
  links.canonical(
    built,
    pointerOf(['affected', i, 'package', 'ecosystem']),
    pointerOf(['affected', i, 'package', 'name']),
  );
  return built;
}

function affectedSymbols(links: LinksetCollector, affected: JsonRecord, i: number, pkg: string | null): void {
  if (pkg === null) return;
  const ecosystemSpecific = affected.ecosystem_specific;
  if (isRecord(ecosystemSpecific)) {
    arrayAt(ecosystemSpecific.imports).forEach((entry, k) => {
      if (!isRecord(entry)) return;
      const path = textAt(entry.path);
      const symbols = stringList(entry.symbols);
      if (symbols.length === 0) return;
      links.symbols({
        package: pkg,
        ...(path === undefined ? {} : { path }),
        symbols,
        pointer: pointerOf(['affected', i, 'ecosystem_specific', 'imports', k, 'symbols']),
      });
    });
  }
  for (const holder of ['ecosystem_specific', 'database_specific'] as const) {
    const specific = affected[holder];
    if (!isRecord(specific)) continue;
    const symbols = stringList(specific.affected_functions);
    if (symbols.length === 0) continue;
    links.symbols({ package: pkg, symbols, pointer: pointerOf(['affected', i, holder, 'affected_functions']) });
  }
}

function stringList(value: unknown): string[] {
  const out: string[] = [];
  for (const item of arrayAt(value)) {
    const text = textAt(item);
    if (text !== undefined) out.push(text);
  }
  return sortedUniqueText(out);
}
