// SPDX-License-Identifier: Apache-2.0
// CSAF 2.0/2.1 VEX statements: each product id listed under a vulnerability's product_status is a
// statement about that product, identified through its product_identification_helper (purl, 2.1's
// purls[], cpe). A product defined only by a relationship (Red Hat's "pam as a component of RHEL 9")
// is identified by its component's helper. flags give the justification, threats of category
// impact the impact, remediations the action; the document's publisher is the issuer.
import type { VexStatement, VexStatus } from '../evidence/model.ts';
import { isObject, type JsonObject, objects, text, texts } from '../sbom/json.ts';
import {
  citing,
  defined,
  expand,
  isVulnerabilityId,
  pointerOf,
  productIdentifier,
  type StatementBudget,
} from './product.ts';
import type { VexRecord } from './source.ts';

/** product_status keys that state a VEX status; `recommended` states none. */
const STATUS_OF: ReadonlyArray<readonly [string, VexStatus]> = [
  ['known_not_affected', 'not_affected'],
  ['known_affected', 'affected'],
  ['first_affected', 'affected'],
  ['last_affected', 'affected'],
  ['fixed', 'fixed'],
  ['first_fixed', 'fixed'],
  ['under_investigation', 'under_investigation'],
];

function helperIds(product: JsonObject): string[] {
  const helper = isObject(product.product_identification_helper) ? product.product_identification_helper : {};
  const values = [helper.purl, ...(Array.isArray(helper.purls) ? helper.purls : []), helper.cpe];
  return values.flatMap((v) => productIdentifier(v) ?? []);
}

/**
 * Relationship hops followed from a product to the component that identifies it. Real documents use
 * one (a package in a platform); the bound keeps a hostile chain linear.
 */
const MAX_RELATIONSHIP_HOPS = 8;

/** product_id → the purls and CPEs that identify it, from branches, full_product_names and relationships. */
export function csafProducts(tree: unknown): Map<string, string[]> {
  const byId = new Map<string, string[]>();
  const add = (product: unknown): void => {
    if (!isObject(product)) return;
    const id = text(product.product_id);
    if (id === undefined) return;
    const ids = byId.get(id) ?? [];
    ids.push(...helperIds(product));
    byId.set(id, ids);
  };
  const root = isObject(tree) ? tree : {};
  const branches: JsonObject[] = objects(root.branches);
  while (branches.length > 0) {
    const branch = branches.pop()!;
    add(branch.product);
    branches.push(...objects(branch.branches));
  }
  for (const product of objects(root.full_product_names)) add(product);
  // A relationship's product is the component it names, placed in another product: the component's
  // identifiers are what an SBOM carries. Components may themselves be relationship products.
  const componentOf = new Map<string, string>();
  for (const relationship of objects(root.relationships)) {
    if (!isObject(relationship.full_product_name)) continue;
    add(relationship.full_product_name);
    const id = text(relationship.full_product_name.product_id);
    const component = text(relationship.product_reference);
    if (id !== undefined && component !== undefined) componentOf.set(id, component);
  }
  const resolved = new Map<string, string[]>();
  for (const id of componentOf.keys()) {
    const ids = [...(byId.get(id) ?? [])];
    let at = componentOf.get(id);
    for (let hop = 0; at !== undefined && at !== id && hop < MAX_RELATIONSHIP_HOPS; hop++) {
      ids.push(...(byId.get(at) ?? []));
      at = componentOf.get(at);
    }
    resolved.set(id, ids);
  }
  for (const [id, ids] of resolved) byId.set(id, ids);
  return byId;
}

/** group_id → product_ids. */
function csafGroups(tree: unknown): Map<string, string[]> {
  const groups = isObject(tree) ? objects(tree.product_groups) : [];
  return new Map(groups.flatMap((g) => (text(g.group_id) ? [[text(g.group_id)!, texts(g.product_ids)]] : [])));
}

/**
 * product_id → the first entry of a list (flags, threats, remediations) naming it directly or by
 * group. Built once per list, each group expanded once, so the cost stays linear in the document.
 */
function firstByProduct(entries: JsonObject[], groups: Map<string, string[]>): Map<string, JsonObject> {
  const byProduct = new Map<string, JsonObject>();
  const expanded = new Set<string>();
  const claim = (productId: string, entry: JsonObject) => {
    if (!byProduct.has(productId)) byProduct.set(productId, entry);
  };
  for (const entry of entries) {
    for (const productId of texts(entry.product_ids)) claim(productId, entry);
    for (const group of texts(entry.group_ids)) {
      if (expanded.has(group)) continue;
      expanded.add(group);
      for (const productId of groups.get(group) ?? []) claim(productId, entry);
    }
  }
  return byProduct;
}

function vulnerabilityIds(vulnerability: JsonObject): string[] {
  const ids = objects(vulnerability.ids).flatMap((id) => text(id.text) ?? []);
  return [...[text(vulnerability.cve) ?? []].flat(), ...ids.filter(isVulnerabilityId)];
}

interface CsafContext {
  budget: StatementBudget;
  record: VexRecord;
  issuer: string;
  timestamp: string | undefined;
  products: Map<string, string[]>;
  groups: Map<string, string[]>;
}

function readVulnerability(ctx: CsafContext, vulnerability: JsonObject, v: number): VexStatement[] {
  const ids = vulnerabilityIds(vulnerability);
  const status = isObject(vulnerability.product_status) ? vulnerability.product_status : {};
  const flags = firstByProduct(objects(vulnerability.flags), ctx.groups);
  const impacts = firstByProduct(
    objects(vulnerability.threats).filter((t) => text(t.category) === 'impact'),
    ctx.groups,
  );
  const remediations = firstByProduct(objects(vulnerability.remediations), ctx.groups);
  const out: VexStatement[] = [];
  for (const [key, vexStatus] of STATUS_OF) {
    const listed = Array.isArray(status[key]) ? status[key] : [];
    listed.forEach((entry, i) => {
      const productId = text(entry);
      const identifiers = productId === undefined ? [] : (ctx.products.get(productId) ?? []);
      if (productId === undefined || identifiers.length === 0) return;
      const remediation = remediations.get(productId);
      const facts = defined({
        ...citing(ctx.record),
        format: 'CSAF_VEX' as const,
        issuer: ctx.issuer,
        status: vexStatus,
        justification: text(flags.get(productId)?.label),
        impact: text(impacts.get(productId)?.details),
        action: text(remediation?.details) ?? text(remediation?.url),
        timestamp: ctx.timestamp,
        pointer: pointerOf(['vulnerabilities', v, 'product_status', key, i]),
      });
      out.push(...expand(ctx.budget, facts, ids, identifiers));
    });
  }
  return out;
}

export function readCsafVex(record: VexRecord, doc: JsonObject, budget: StatementBudget): VexStatement[] {
  const document = isObject(doc.document) ? doc.document : {};
  const publisher = isObject(document.publisher) ? document.publisher : {};
  const tracking = isObject(document.tracking) ? document.tracking : {};
  const ctx: CsafContext = {
    budget,
    record,
    issuer: text(publisher.name) ?? text(publisher.namespace) ?? record.vendor,
    timestamp: text(tracking.current_release_date) ?? text(tracking.initial_release_date),
    products: csafProducts(doc.product_tree),
    groups: csafGroups(doc.product_tree),
  };
  const vulnerabilities = Array.isArray(doc.vulnerabilities) ? doc.vulnerabilities : [];
  return vulnerabilities.flatMap((v, i) => (isObject(v) ? readVulnerability(ctx, v, i) : []));
}
