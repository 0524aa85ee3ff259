// SPDX-License-Identifier: Apache-2.0
// NVD CVE API 2.0 responses holding one CVE (`vulnerabilities[0].cve`); a page with several CVEs
// is split by the connector before it gets here. CPEs come from configurations → cpeMatch criteria.
import {
  arrayAt,
  type Extracted,
  ghsaIdsIn,
  identifiersCollector,
  isRecord,
  type JsonRecord,
  type LinksetCollector,
  linksetCollector,
  pointerOf,
  scalarText,
  textAt,
} from './linkset.ts';

/** An NVD API 2.0 response has `format: NVD_CVE` or a `vulnerabilities[0].cve` object. */
export function looksLikeNvd(doc: JsonRecord): boolean {
  if (doc.format === 'NVD_CVE') return true;
  const first = arrayAt(doc.vulnerabilities)[0];
  return isRecord(first) && isRecord(first.cve);
}

export function extractNvd(doc: JsonRecord): Extracted {
  const first = arrayAt(doc.vulnerabilities)[0];
  const cve = isRecord(first) && isRecord(first.cve) ? first.cve : {};
  const base = ['vulnerabilities', 0, 'cve'];
  const links = linksetCollector();
  const ids = identifiersCollector();

  links.alias(cve.id, pointerOf([...base, 'id']));
  ids.cve(cve.id);
  arrayAt(cve.configurations).forEach((configuration, c) => {
    if (!isRecord(configuration)) return;
    arrayAt(configuration.nodes).forEach((node, n) => {
      if (!isRecord(node)) return;
      readCpeMatches(links, node.cpeMatch, [...base, 'configurations', c, 'nodes', n, 'cpeMatch']);
    });
  });
  arrayAt(cve.references).forEach((reference, r) => {
    if (!isRecord(reference)) return;
    const url = textAt(reference.url);
    if (url === undefined) return;
    const pointer = pointerOf([...base, 'references', r, 'url']);
    links.reference('WEB', url, pointer);
    for (const ghsa of ghsaIdsIn(url)) {
      links.alias(ghsa, pointer);
      ids.ghsa(ghsa);
    }
  });

  return {
    kind: 'advisory',
    format: 'NVD',
    specVersion: scalarText(doc.version) ?? '',
    upstreamId: textAt(cve.id) ?? '',
    documentVersion: textAt(cve.lastModified) ?? null,
    withdrawn: cve.vulnStatus === 'Rejected',
    identifiers: ids.build(),
    linkset: links.build(),
  };
}

function readCpeMatches(links: LinksetCollector, matches: unknown, path: Array<string | number>): void {
  arrayAt(matches).forEach((match, m) => {
    if (isRecord(match)) links.cpe(match.criteria, pointerOf([...path, m, 'criteria']));
  });
}
