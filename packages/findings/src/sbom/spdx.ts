// SPDX-License-Identifier: Apache-2.0
// SPDX 2.2/2.3 JSON: packages with a purl (and a CPE) in externalRefs, the described
// package (documentDescribes or a DESCRIBES relationship) as the subject, and the relationships that
// mean "depends on" in either direction (A DEPENDS_ON B, or B *_DEPENDENCY_OF A; A CONTAINS B).
import type { RawComponent, RawSbom } from './assemble.ts';
import { type JsonObject, objects, text, texts } from './json.ts';
import type { SbomEdge } from './model.ts';

export const SPDX_VERSIONS = ['SPDX-2.2', 'SPDX-2.3'] as const;

const FORWARD = new Set(['DEPENDS_ON', 'CONTAINS']);
/** `A X_DEPENDENCY_OF B` says B depends on A (SPDX 2.3 §11.1). */
const REVERSE = /^([A-Z]+_)?DEPENDENCY_OF$/;

function purlOf(pkg: JsonObject): string | undefined {
  const ref = objects(pkg.externalRefs).find((r) => text(r.referenceType)?.toLowerCase() === 'purl');
  return ref ? text(ref.referenceLocator) : undefined;
}

/** The package's CPE: a cpe23Type reference, else a cpe22Type one (SPDX 2.3 Annex F). */
function cpeOf(pkg: JsonObject): string | undefined {
  const refs = objects(pkg.externalRefs);
  const of = (type: string) => text(refs.find((r) => text(r.referenceType)?.toLowerCase() === type)?.referenceLocator);
  return of('cpe23type') ?? of('cpe22type');
}

function packageOf(pkg: JsonObject, index: number): RawComponent | undefined {
  const name = text(pkg.name);
  if (!name) return undefined;
  const version = text(pkg.versionInfo);
  return {
    ref: text(pkg.SPDXID) ?? `#package-${index}`,
    name,
    version: version === 'NOASSERTION' ? undefined : version,
    purl: purlOf(pkg),
    group: undefined,
    cpe: cpeOf(pkg),
  };
}

function edgesOf(relationships: JsonObject[]): { edges: SbomEdge[]; described: string[] } {
  const edges: SbomEdge[] = [];
  const described: string[] = [];
  for (const r of relationships) {
    const a = text(r.spdxElementId);
    const b = text(r.relatedSpdxElement);
    const type = text(r.relationshipType)?.toUpperCase();
    if (!a || !b || !type) continue;
    if (type === 'DESCRIBES' && a === 'SPDXRef-DOCUMENT') described.push(b);
    else if (type === 'DESCRIBED_BY' && b === 'SPDXRef-DOCUMENT') described.push(a);
    else if (FORWARD.has(type)) edges.push({ from: a, to: b });
    else if (REVERSE.test(type)) edges.push({ from: b, to: a });
  }
  return { edges, described };
}

export function readSpdx(doc: JsonObject, specVersion: string): RawSbom {
  const packages = objects(doc.packages);
  const all = packages.map(packageOf);
  const { edges, described } = edgesOf(objects(doc.relationships));
  const rootRef = [...texts(doc.documentDescribes), ...described][0];
  const named = all.filter((p): p is RawComponent => p !== undefined);
  return {
    format: 'spdx',
    specVersion,
    documentId: text(doc.documentNamespace),
    root: named.find((p) => p.ref === rootRef),
    components: named.filter((p) => p.ref !== rootRef),
    edges,
    unnamed: all.length - named.length,
  };
}
