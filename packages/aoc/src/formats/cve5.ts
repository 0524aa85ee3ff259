// SPDX-License-Identifier: Apache-2.0
// CVE JSON 5.x records (cvelistV5): the CNA container and every ADP container are upstream
// statements and are read alike. GHSA ids appear only inside reference URLs and are picked up
// from there, so a CVE record joins the GHSA that published it.
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

/** A CVE record has `dataType: CVE_RECORD`, or a `cveMetadata.cveId`. */
export function looksLikeCve5(doc: JsonRecord): boolean {
  return doc.dataType === 'CVE_RECORD' || (isRecord(doc.cveMetadata) && typeof doc.cveMetadata.cveId === 'string');
}

export function extractCve5(doc: JsonRecord): Extracted {
  const metadata = isRecord(doc.cveMetadata) ? doc.cveMetadata : {};
  const containers = isRecord(doc.containers) ? doc.containers : {};
  const links = linksetCollector();
  const ids = identifiersCollector();

  links.alias(metadata.cveId, '/cveMetadata/cveId');
  ids.cve(metadata.cveId);
  readContainer(links, ids, containers.cna, ['containers', 'cna']);
  arrayAt(containers.adp).forEach((adp, i) => {
    readContainer(links, ids, adp, ['containers', 'adp', i]);
  });

  return {
    kind: 'advisory',
    format: 'CVE5',
    specVersion: scalarText(doc.dataVersion) ?? '',
    upstreamId: textAt(metadata.cveId) ?? '',
    documentVersion: textAt(metadata.dateUpdated) ?? null,
    withdrawn: metadata.state === 'REJECTED',
    identifiers: ids.build(),
    linkset: links.build(),
  };
}

function readContainer(
  links: LinksetCollector,
  ids: ReturnType<typeof identifiersCollector>,
  container: unknown,
  path: Array<string | number>,
): void {
  if (!isRecord(container)) return;
  arrayAt(container.affected).forEach((affected, a) => {
    if (!isRecord(affected)) return;
    arrayAt(affected.cpes).forEach((cpe, c) => {
      links.cpe(cpe, pointerOf([...path, 'affected', a, 'cpes', c]));
    });
    // CVE 5.2 may carry a purl per product.
    links.purl(affected.packageURL, pointerOf([...path, 'affected', a, 'packageURL']));
  });
  arrayAt(container.references).forEach((reference, r) => {
    if (!isRecord(reference)) return;
    const url = textAt(reference.url);
    if (url === undefined) return;
    const pointer = pointerOf([...path, 'references', r, 'url']);
    links.reference('WEB', url, pointer);
    for (const ghsa of ghsaIdsIn(url)) {
      links.alias(ghsa, pointer);
      ids.ghsa(ghsa);
    }
  });
}
