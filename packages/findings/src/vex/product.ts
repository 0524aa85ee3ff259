// SPDX-License-Identifier: Apache-2.0
// The small vocabulary every VEX reader shares: RFC 6901 pointers to where a statement sits, product
// identifiers kept as written (a purl in its canonical spelling, a CPE trimmed) and vulnerability ids
// that look like ids. A product that is neither a purl nor a CPE cannot name a component and is left out.
import { PackageURL } from 'packageurl-js';
import type { VexStatement } from '../evidence/model.ts';
import { purlCoordinates } from '../sbom/purl.ts';
import type { VexRecord } from './source.ts';

/** RFC 6901: `~` becomes `~0`, `/` becomes `~1`. */
export function pointerOf(path: ReadonlyArray<string | number>): string {
  return path.map((s) => `/${String(s).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

const CPE_RE = /^cpe:(2\.3:|\/)/i;

/** A purl (canonical, qualifiers kept) or a CPE (2.3 or 2.2 URI, as written); undefined otherwise. */
export function productIdentifier(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (CPE_RE.test(text)) return text;
  if (!text.startsWith('pkg:')) return undefined;
  try {
    return purlCoordinates(text).purl;
  } catch {
    return undefined;
  }
}

function parsedPurl(product: string): PackageURL | undefined {
  if (!product.startsWith('pkg:')) return undefined;
  try {
    return PackageURL.fromString(product);
  } catch {
    return undefined;
  }
}

/** A purl without a version (it names every version of the package). */
export function isPackageLevelPurl(product: string): boolean {
  const purl = parsedPurl(product);
  return purl !== undefined && !purl.version;
}

/** The purl with this version, in canonical spelling; undefined when the result is not a valid purl. */
export function withVersion(product: string, version: string): string | undefined {
  const purl = parsedPurl(product);
  if (purl === undefined) return undefined;
  try {
    return new PackageURL(purl.type, purl.namespace, purl.name, version, purl.qualifiers, purl.subpath).toString();
  } catch {
    return undefined;
  }
}

/** Something shaped like a vulnerability id (PREFIX-rest, no spaces or slashes): CVE, GHSA, CGA, RHSA… */
export function isVulnerabilityId(value: string): boolean {
  return /^[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9][A-Za-z0-9._:-]*$/.test(value);
}

/** The parts of a statement every product of it shares. */
export type StatementFacts = Omit<VexStatement, 'product' | 'vulnerabilityId'>;

/** The identity fields of the record a statement cites. */
export function citing(record: VexRecord) {
  return {
    recordId: record.recordId,
    vendor: record.vendor,
    upstreamId: record.upstreamId,
    contentHash: record.contentHash,
  };
}

/**
 * Statements one document may expand to. Ids × products multiply, so a small hostile document could
 * otherwise ask for billions; the largest real documents (Red Hat VEX for a kernel CVE, a few
 * thousand products, one or two ids each) stay far below it.
 */
export const MAX_STATEMENTS_PER_DOCUMENT = 200_000;

/** How many more statements the document being read may give. */
export interface StatementBudget {
  remaining: number;
}

export function statementBudget(): StatementBudget {
  return { remaining: MAX_STATEMENTS_PER_DOCUMENT };
}

/**
 * One statement per (vulnerability id × product), the statement's own name first and then its
 * aliases (applicability keeps the first that matches a finding), each product once. Throws a
 * RangeError when the document's budget runs out.
 */
export function expand(
  budget: StatementBudget,
  facts: StatementFacts,
  ids: readonly string[],
  products: readonly string[],
): VexStatement[] {
  const out: VexStatement[] = [];
  const uniqueProducts = [...new Set(products)];
  const uniqueIds = new Set(ids);
  budget.remaining -= uniqueIds.size * uniqueProducts.length;
  if (budget.remaining < 0) {
    throw new RangeError(`the document gives more than ${MAX_STATEMENTS_PER_DOCUMENT} statements; it is not read`);
  }
  for (const vulnerabilityId of uniqueIds) {
    for (const product of uniqueProducts) out.push({ ...facts, vulnerabilityId, product });
  }
  return out;
}

/** Drops undefined optional fields so statements compare and serialise without empty keys. */
export function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
