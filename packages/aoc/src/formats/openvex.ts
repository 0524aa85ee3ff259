// SPDX-License-Identifier: Apache-2.0
// OpenVEX documents, both shapes seen in the wild: 0.0.1 (vulnerability and products as strings)
// and 0.2.0 (objects with name/aliases and @id/identifiers/subcomponents).
import {
  arrayAt,
  type Extracted,
  identifiersCollector,
  isRecord,
  type JsonRecord,
  type LinksetCollector,
  linksetCollector,
  pointerOf,
  scalarText,
  textAt,
} from './linkset.ts';

const CONTEXT_PREFIX = 'https://openvex.dev/ns';

/**
 * An OpenVEX document has a string `@context` on openvex.dev, or (GUAC writes `"@context": ""`)
 * a string `@context` next to a `statements` array.
 */
export function looksLikeOpenVex(doc: JsonRecord): boolean {
  const context = doc['@context'];
  if (typeof context !== 'string') return false;
  return context.startsWith(CONTEXT_PREFIX) || Array.isArray(doc.statements);
}

/**
 * `…/ns/vX.Y.Z` names its version; the unversioned `…/ns` is what 0.0.1 used. A context that is
 * neither (GUAC's empty string) is dated by shape: object vulnerabilities arrived with 0.2.0.
 */
export function openVexSpecVersion(doc: JsonRecord): string {
  const context = typeof doc['@context'] === 'string' ? doc['@context'].trim() : '';
  const versioned = /^https:\/\/openvex\.dev\/ns\/v(\d+\.\d+\.\d+)\/?$/.exec(context);
  if (versioned?.[1] !== undefined) return versioned[1];
  if (context === CONTEXT_PREFIX || context === `${CONTEXT_PREFIX}/`) return '0.0.1';
  const objectShaped = arrayAt(doc.statements).some((s) => isRecord(s) && isRecord(s.vulnerability));
  return objectShaped ? '0.2.0' : '0.0.1';
}

export function extractOpenVex(doc: JsonRecord): Extracted {
  const links = linksetCollector();
  const ids = identifiersCollector();

  arrayAt(doc.statements).forEach((statement, s) => {
    if (!isRecord(statement)) return;
    const at = ['statements', s];
    const vulnerability = statement.vulnerability;
    if (typeof vulnerability === 'string') {
      links.alias(vulnerability, pointerOf([...at, 'vulnerability']));
      ids.any(vulnerability);
    } else if (isRecord(vulnerability)) {
      links.alias(vulnerability.name, pointerOf([...at, 'vulnerability', 'name']));
      ids.any(vulnerability.name);
      arrayAt(vulnerability.aliases).forEach((alias, k) => {
        links.alias(alias, pointerOf([...at, 'vulnerability', 'aliases', k]));
        ids.any(alias);
        ids.alias(alias);
      });
      const iri = textAt(vulnerability['@id']);
      if (iri !== undefined && /^https?:\/\//i.test(iri)) {
        links.reference('WEB', iri, pointerOf([...at, 'vulnerability', '@id']));
      }
    }
    arrayAt(statement.products).forEach((product, p) => {
      addProduct(links, product, [...at, 'products', p]);
    });
    // 0.0.1 lists subcomponents on the statement rather than on each product.
    arrayAt(statement.subcomponents).forEach((component, c) => {
      addProduct(links, component, [...at, 'subcomponents', c]);
    });
  });

  return {
    kind: 'vex',
    format: 'OPENVEX',
    specVersion: openVexSpecVersion(doc),
    upstreamId: textAt(doc['@id']) ?? '',
    documentVersion: scalarText(doc.version),
    withdrawn: false,
    identifiers: ids.build(),
    linkset: links.build(),
  };
}

function addProduct(links: LinksetCollector, product: unknown, path: Array<string | number>): void {
  if (typeof product === 'string') {
    links.purl(product, pointerOf(path));
    return;
  }
  if (!isRecord(product)) return;
  links.purl(product['@id'], pointerOf([...path, '@id']));
  const identifiers = product.identifiers;
  if (isRecord(identifiers)) {
    links.purl(identifiers.purl, pointerOf([...path, 'identifiers', 'purl']));
    links.cpe(identifiers.cpe23, pointerOf([...path, 'identifiers', 'cpe23']));
    links.cpe(identifiers.cpe22, pointerOf([...path, 'identifiers', 'cpe22']));
  }
  arrayAt(product.subcomponents).forEach((component, c) => {
    addProduct(links, component, [...path, 'subcomponents', c]);
  });
}
