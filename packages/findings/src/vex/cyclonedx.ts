// SPDX-License-Identifier: Apache-2.0
// CycloneDX 1.4–1.6 VEX statements: each vulnerability with an analysis.state is a statement about
// every component its affects[].ref points at, identified by that component's purl and cpe (a local
// bom-ref, a BOM-Link whose fragment is a local bom-ref, or a ref or BOM-Link fragment that is itself
// a purl). A vulnerability without analysis states nothing, and BOM-Links into other BOMs are not
// resolved. affects[].versions narrows a package-level purl to the versions it lists; version ranges
// (`vers:`) are not interpreted, so a package-level purl given only ranges names no version at all
// rather than every version.
import type { VexStatement, VexStatus } from '../evidence/model.ts';
import { isObject, type JsonObject, objects, text, texts } from '../sbom/json.ts';
import {
  citing,
  defined,
  expand,
  isPackageLevelPurl,
  isVulnerabilityId,
  pointerOf,
  productIdentifier,
  type StatementBudget,
  withVersion,
} from './product.ts';
import type { VexRecord } from './source.ts';

const STATUS_OF: Readonly<Record<string, VexStatus>> = {
  not_affected: 'not_affected',
  false_positive: 'not_affected',
  exploitable: 'affected',
  resolved: 'fixed',
  resolved_with_pedigree: 'fixed',
  in_triage: 'under_investigation',
};

/** bom-ref → the purl and cpe of that component (metadata.component and nested components). */
function componentsByRef(doc: JsonObject): Map<string, string[]> {
  const byRef = new Map<string, string[]>();
  const metadata = isObject(doc.metadata) ? doc.metadata : {};
  const stack: JsonObject[] = [
    ...objects(doc.components),
    ...(isObject(metadata.component) ? [metadata.component] : []),
  ];
  while (stack.length > 0) {
    const component = stack.pop()!;
    const ref = text(component['bom-ref']);
    const ids = [component.purl, component.cpe].flatMap((v) => productIdentifier(v) ?? []);
    if (ref !== undefined && !byRef.has(ref)) byRef.set(ref, ids);
    stack.push(...objects(component.components));
  }
  return byRef;
}

function productsOf(ref: string, byRef: Map<string, string[]>): string[] {
  const local = byRef.get(ref);
  if (local !== undefined) return local;
  const asPurl = productIdentifier(ref);
  if (asPurl !== undefined) return [asPurl];
  const hash = ref.lastIndexOf('#');
  if (hash === -1) return [];
  const fragment = decodeFragment(ref.slice(hash + 1));
  return byRef.get(fragment) ?? [productIdentifier(fragment) ?? []].flat();
}

/**
 * Products of one affects entry: a package-level purl narrowed to the versions listed (none when only
 * ranges are listed); versioned purls and CPEs as written.
 */
function narrowedByVersions(products: string[], affect: JsonObject): string[] {
  const versions = objects(affect.versions);
  if (versions.length === 0) return products;
  const exact = versions.flatMap((v) => text(v.version) ?? []);
  return products.flatMap((product) => {
    if (!isPackageLevelPurl(product)) return [product];
    return exact.flatMap((version) => withVersion(product, version) ?? []);
  });
}

function decodeFragment(fragment: string): string {
  try {
    return decodeURIComponent(fragment);
  } catch {
    return fragment;
  }
}

/** Who speaks: the manufacturer (1.6; 1.5's `manufacture`), supplier, first author, organisation. */
function issuerOf(doc: JsonObject, record: VexRecord): string {
  const metadata = isObject(doc.metadata) ? doc.metadata : {};
  const nameOf = (value: unknown) => (isObject(value) ? text(value.name) : undefined);
  return (
    nameOf(metadata.manufacturer) ??
    nameOf(metadata.manufacture) ??
    nameOf(metadata.supplier) ??
    nameOf(objects(metadata.authors)[0]) ??
    nameOf(metadata.organization) ??
    record.vendor
  );
}

interface CycloneDxContext {
  budget: StatementBudget;
  record: VexRecord;
  issuer: string;
  documentTimestamp: string | undefined;
  byRef: Map<string, string[]>;
}

function readVulnerability(ctx: CycloneDxContext, vulnerability: JsonObject, v: number): VexStatement[] {
  const analysis = isObject(vulnerability.analysis) ? vulnerability.analysis : {};
  const status = STATUS_OF[text(analysis.state) ?? ''];
  if (status === undefined) return [];
  const ids = [
    ...[text(vulnerability.id) ?? []].flat(),
    ...objects(vulnerability.references)
      .flatMap((r) => text(r.id) ?? [])
      .filter(isVulnerabilityId),
  ];
  const response = texts(analysis.response);
  const out: VexStatement[] = [];
  const affects = Array.isArray(vulnerability.affects) ? vulnerability.affects : [];
  affects.forEach((affect, a) => {
    const ref = isObject(affect) ? text(affect.ref) : undefined;
    if (ref === undefined || !isObject(affect)) return;
    const facts = defined({
      ...citing(ctx.record),
      format: 'CYCLONEDX_VEX' as const,
      issuer: ctx.issuer,
      status,
      justification: text(analysis.justification),
      impact: text(analysis.detail),
      action: response.length > 0 ? response.join(', ') : undefined,
      timestamp:
        text(analysis.lastUpdated) ??
        text(analysis.firstIssued) ??
        text(vulnerability.updated) ??
        text(vulnerability.published) ??
        ctx.documentTimestamp,
      pointer: pointerOf(['vulnerabilities', v, 'affects', a]),
    });
    out.push(...expand(ctx.budget, facts, ids, narrowedByVersions(productsOf(ref, ctx.byRef), affect)));
  });
  return out;
}

export function readCycloneDxVex(record: VexRecord, doc: JsonObject, budget: StatementBudget): VexStatement[] {
  const metadata = isObject(doc.metadata) ? doc.metadata : {};
  const ctx: CycloneDxContext = {
    budget,
    record,
    issuer: issuerOf(doc, record),
    documentTimestamp: text(metadata.timestamp),
    byRef: componentsByRef(doc),
  };
  const vulnerabilities = Array.isArray(doc.vulnerabilities) ? doc.vulnerabilities : [];
  return vulnerabilities.flatMap((v, i) => (isObject(v) ? readVulnerability(ctx, v, i) : []));
}
