// SPDX-License-Identifier: Apache-2.0
// CycloneDX 1.4–1.6 documents that carry `vulnerabilities[]` (VEX / BOV). A BOM without
// vulnerabilities is an SBOM and is not ingested here. Affected products are the components that
// `affects[].ref` points at, resolved by bom-ref inside the same document.
import {
  arrayAt,
  type Extracted,
  identifiersCollector,
  isRecord,
  type JsonRecord,
  linksetCollector,
  looksLikeVulnerabilityId,
  pointerOf,
  scalarText,
  textAt,
} from './linkset.ts';

export function isCycloneDx(doc: JsonRecord): boolean {
  return doc.bomFormat === 'CycloneDX';
}

export function hasVulnerabilities(doc: JsonRecord): boolean {
  return Array.isArray(doc.vulnerabilities) && doc.vulnerabilities.length > 0;
}

interface ComponentAt {
  component: JsonRecord;
  path: Array<string | number>;
}

function indexComponents(doc: JsonRecord): Map<string, ComponentAt> {
  const byRef = new Map<string, ComponentAt>();
  const visit = (component: unknown, path: Array<string | number>): void => {
    if (!isRecord(component)) return;
    const ref = textAt(component['bom-ref']);
    if (ref !== undefined && !byRef.has(ref)) byRef.set(ref, { component, path });
    arrayAt(component.components).forEach((child, i) => {
      visit(child, [...path, 'components', i]);
    });
  };
  if (isRecord(doc.metadata)) visit(doc.metadata.component, ['metadata', 'component']);
  arrayAt(doc.components).forEach((component, i) => {
    visit(component, ['components', i]);
  });
  return byRef;
}

export function extractCycloneDx(doc: JsonRecord): Extracted {
  const links = linksetCollector();
  const ids = identifiersCollector();
  const components = indexComponents(doc);

  arrayAt(doc.vulnerabilities).forEach((vulnerability, v) => {
    if (!isRecord(vulnerability)) return;
    const at = ['vulnerabilities', v];
    const id = textAt(vulnerability.id);
    if (id !== undefined && looksLikeVulnerabilityId(id)) {
      links.alias(id, pointerOf([...at, 'id']));
      ids.any(id);
    }
    if (isRecord(vulnerability.source)) {
      links.reference('WEB', vulnerability.source.url, pointerOf([...at, 'source', 'url']));
    }
    arrayAt(vulnerability.references).forEach((reference, r) => {
      if (!isRecord(reference)) return;
      const referenceId = textAt(reference.id);
      if (referenceId !== undefined && looksLikeVulnerabilityId(referenceId)) {
        links.alias(referenceId, pointerOf([...at, 'references', r, 'id']));
        ids.any(referenceId);
        ids.alias(referenceId);
      }
      if (isRecord(reference.source)) {
        links.reference('WEB', reference.source.url, pointerOf([...at, 'references', r, 'source', 'url']));
      }
    });
    arrayAt(vulnerability.advisories).forEach((advisory, a) => {
      if (isRecord(advisory)) links.reference('WEB', advisory.url, pointerOf([...at, 'advisories', a, 'url']));
    });
    arrayAt(vulnerability.affects).forEach((affect, a) => {
      if (!isRecord(affect)) return;
      const ref = textAt(affect.ref);
      if (ref === undefined) return;
      const refPointer = pointerOf([...at, 'affects', a, 'ref']);
      // A BOM-Link (`urn:cdx:serial/version#bom-ref`, GUAC also writes `urn:uuid:…/1#bom-ref`)
      // names a component by the fragment; only components of this document can be resolved.
      const hash = ref.lastIndexOf('#');
      const target = components.get(ref) ?? (hash === -1 ? undefined : components.get(ref.slice(hash + 1)));
      if (target === undefined) {
        // Some producers use the purl itself as the ref, or as the bom-ref a BOM-Link points at in
        // the SBOM it describes (CycloneDX's examples: `urn:cdx:…/1#pkg:maven/…`); without the purl
        // the document names no package and no lookup by package finds it. Anything else stays
        // unresolved data.
        if (links.purl(ref, refPointer) === null && hash !== -1) links.purl(ref.slice(hash + 1), refPointer);
        return;
      }
      const { component, path } = target;
      links.purl(component.purl, pointerOf([...path, 'purl']), refPointer);
      links.cpe(component.cpe, pointerOf([...path, 'cpe']));
      if (textAt(component.cpe) !== undefined) links.cpe(component.cpe, refPointer);
    });
  });

  // Most VEX examples carry no serialNumber. The first vulnerability id is not a name for the
  // document (one source publishes many VEX files about the same CVE, which would then chain as
  // revisions of each other), so the id is left empty and ingestion names the document by where
  // it was fetched from, or by the upstream_id the writer gives.
  const serial = textAt(doc.serialNumber);
  return {
    kind: 'vex',
    format: 'CYCLONEDX_VEX',
    specVersion: textAt(doc.specVersion) ?? '',
    upstreamId: serial ?? '',
    documentVersion: scalarText(doc.version),
    withdrawn: false,
    identifiers: ids.build(),
    linkset: links.build(),
  };
}
