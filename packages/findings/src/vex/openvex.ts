// SPDX-License-Identifier: Apache-2.0
// OpenVEX statements (0.2.0 and the older `https://openvex.dev/ns` 0.0.x shapes, where vulnerability
// and products are plain strings). A product's own identifiers and its subcomponents each become a
// product of the statement: a finding sits on a package, which an image's statement names as a
// subcomponent. Timestamps cascade: the statement's last_updated or timestamp, else the document's.
import type { VexStatement, VexStatus } from '../evidence/model.ts';
import { isObject, type JsonObject, text, texts } from '../sbom/json.ts';
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

const STATUSES: ReadonlySet<string> = new Set(['not_affected', 'affected', 'fixed', 'under_investigation']);

/** Every purl or CPE a product (string or object, with nested subcomponents) carries. */
function productIds(product: unknown): string[] {
  if (typeof product === 'string') return [productIdentifier(product) ?? []].flat();
  if (!isObject(product)) return [];
  const identifiers = isObject(product.identifiers) ? product.identifiers : {};
  const own = [product['@id'], identifiers.purl, identifiers.cpe23, identifiers.cpe22].flatMap(
    (v) => productIdentifier(v) ?? [],
  );
  const subcomponents = Array.isArray(product.subcomponents) ? product.subcomponents : [];
  return [...own, ...subcomponents.flatMap(productIds)];
}

/** The statement's vulnerability name, then its aliases, then an id-shaped `@id`. */
function vulnerabilityIds(vulnerability: unknown): string[] {
  if (typeof vulnerability === 'string') return [vulnerability.trim()].filter(Boolean);
  if (!isObject(vulnerability)) return [];
  const iri = text(vulnerability['@id']);
  return [
    ...[text(vulnerability.name) ?? []].flat(),
    ...texts(vulnerability.aliases),
    ...(iri !== undefined && isVulnerabilityId(iri) ? [iri] : []),
  ];
}

function readStatement(
  budget: StatementBudget,
  record: VexRecord,
  doc: JsonObject,
  statement: JsonObject,
  index: number,
): VexStatement[] {
  const status = text(statement.status);
  if (status === undefined || !STATUSES.has(status)) return [];
  const products = [...(Array.isArray(statement.products) ? statement.products : [])];
  // 0.0.1 lists subcomponents beside the products rather than inside each.
  if (Array.isArray(statement.subcomponents)) products.push(...statement.subcomponents);
  const facts = defined({
    ...citing(record),
    format: 'OPENVEX' as const,
    issuer: text(statement.author) ?? text(doc.author) ?? record.vendor,
    status: status as VexStatus,
    justification: text(statement.justification),
    impact: text(statement.impact_statement),
    action: text(statement.action_statement),
    timestamp:
      text(statement.last_updated) ?? text(statement.timestamp) ?? text(doc.last_updated) ?? text(doc.timestamp),
    pointer: pointerOf(['statements', index]),
  });
  return expand(budget, facts, vulnerabilityIds(statement.vulnerability), products.flatMap(productIds));
}

export function readOpenVex(record: VexRecord, doc: JsonObject, budget: StatementBudget): VexStatement[] {
  const statements = Array.isArray(doc.statements) ? doc.statements : [];
  return statements.flatMap((statement, i) =>
    isObject(statement) ? readStatement(budget, record, doc, statement, i) : [],
  );
}
