// SPDX-License-Identifier: Apache-2.0
// CSAF 2.0 / 2.1 documents: security advisories go to advisory_raw, `csaf_vex` documents to vex_raw.
// Products are found anywhere in the product tree (branches, full_product_names, relationships)
// through their product_identification_helper.
import {
  arrayAt,
  type Extracted,
  identifiersCollector,
  isRecord,
  type JsonRecord,
  type LinksetCollector,
  linksetCollector,
  looksLikeVulnerabilityId,
  pointerOf,
  textAt,
} from './linkset.ts';

/** A CSAF document has a `document` object with `csaf_version`. */
export function looksLikeCsaf(doc: JsonRecord): boolean {
  return isRecord(doc.document) && typeof doc.document.csaf_version === 'string';
}

export function extractCsaf(doc: JsonRecord): Extracted {
  const document = isRecord(doc.document) ? doc.document : {};
  const tracking = isRecord(document.tracking) ? document.tracking : {};
  const links = linksetCollector();
  const ids = identifiersCollector();
  const isVex = document.category === 'csaf_vex';

  // tracking.id is the publisher's own advisory id (RHSA-…, or the CVE id in Red Hat VEX files),
  // the CSAF counterpart of an OSV id, so it joins like one when it has an id's shape.
  const trackingId = textAt(tracking.id);
  if (trackingId !== undefined && looksLikeVulnerabilityId(trackingId)) {
    links.alias(trackingId, '/document/tracking/id');
    ids.any(trackingId);
  }

  arrayAt(document.references).forEach((reference, i) => {
    if (isRecord(reference)) {
      links.reference(reference.category, reference.url, pointerOf(['document', 'references', i]));
    }
  });

  arrayAt(doc.vulnerabilities).forEach((vulnerability, v) => {
    if (!isRecord(vulnerability)) return;
    links.alias(vulnerability.cve, pointerOf(['vulnerabilities', v, 'cve']));
    ids.cve(vulnerability.cve);
    arrayAt(vulnerability.ids).forEach((id, k) => {
      if (!isRecord(id)) return;
      const text = textAt(id.text);
      // ids[].text is free text: Red Hat puts Bugzilla URLs there; only id-shaped values are aliases.
      if (text === undefined || !looksLikeVulnerabilityId(text)) return;
      links.alias(text, pointerOf(['vulnerabilities', v, 'ids', k, 'text']));
      ids.any(text);
      ids.alias(text);
    });
    arrayAt(vulnerability.references).forEach((reference, i) => {
      if (isRecord(reference)) {
        links.reference(reference.category, reference.url, pointerOf(['vulnerabilities', v, 'references', i]));
      }
    });
  });

  walkProductTree(links, doc.product_tree, ['product_tree']);

  return {
    kind: isVex ? 'vex' : 'advisory',
    format: isVex ? 'CSAF_VEX' : 'CSAF',
    specVersion: textAt(document.csaf_version) ?? '',
    upstreamId: trackingId ?? '',
    documentVersion: textAt(tracking.version) ?? null,
    // CSAF has no withdrawal flag: a withdrawn advisory is a new revision with changed notes.
    withdrawn: false,
    identifiers: ids.build(),
    linkset: links.build(),
  };
}

function walkProductTree(links: LinksetCollector, node: unknown, path: Array<string | number>): void {
  if (Array.isArray(node)) {
    node.forEach((item, i) => {
      walkProductTree(links, item, [...path, i]);
    });
    return;
  }
  if (!isRecord(node)) return;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'product_identification_helper' && isRecord(value)) {
      const at = [...path, key];
      links.purl(value.purl, pointerOf([...at, 'purl']));
      // CSAF 2.1 replaced the single purl with a list.
      arrayAt(value.purls).forEach((purl, i) => {
        links.purl(purl, pointerOf([...at, 'purls', i]));
      });
      links.cpe(value.cpe, pointerOf([...at, 'cpe']));
    } else if (value !== null && typeof value === 'object') {
      walkProductTree(links, value, [...path, key]);
    }
  }
}
