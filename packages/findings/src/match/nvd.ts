// SPDX-License-Identifier: Apache-2.0
// The NVD CVE API 2.0 matcher: one component, known by a CPE 2.3 name, against the record's
// `configurations[].nodes[].cpeMatch[]`. NVD names products by CPE only (AOC's linkset gives NVD records
// no purl), so a component without a CPE is never named and the scan keeps such records "not evaluated".
// A cpeMatch names the component when every attribute of its criteria is ANY (`*`) or equal (case-
// insensitive) to the component's, the version aside; the version (the CPE's, else the component's) is
// then inside `versionStartIncluding/Excluding` .. `versionEndIncluding/Excluding`, or equal to the
// criteria's own version when it has one. NVD versions have no scheme of their own, so they are compared in
// the component ecosystem's order, and a bound that order cannot read makes the outcome unknown.
// Only `vulnerable: true` matches count. A configuration joining nodes with AND (an application "running on"
// some platform) needs the other nodes' CPEs too, which one component cannot show: a hit there is unknown.
// A negated node or configuration is unknown for the same reason. A Rejected record never matches.
import { isObject, type JsonObject, objects, text } from '../sbom/json.ts';
import type { VersionComparator } from '../versions/index.ts';
import type { MatchOutcome } from './osv.ts';
import type { NvdMatchedRange } from './ranges.ts';
import {
  type ComponentIdentity,
  cachedIndex,
  NOT_AFFECTED,
  orderFor,
  parses,
  type SourceFacts,
  sortedFixed,
  stronger,
  unknown,
} from './shared.ts';

interface CpeMatch {
  criteria: string;
  attributes: string[];
  match: JsonObject;
  /** The configuration needs more than this node (operator AND over several nodes), or is negated. */
  conditional: boolean;
}

interface NvdIndex {
  rejected: boolean;
  /** Vulnerable cpeMatches by `part:vendor:product`, lowercased. */
  byProduct: Map<string, CpeMatch[]>;
  cve: JsonObject;
}

/** The 11 attributes of a CPE 2.3 formatted string (`\:` is an escaped colon), or undefined. */
export function cpeAttributes(cpe: string): string[] | undefined {
  if (!/^cpe:2\.3:/i.test(cpe)) return undefined;
  const parts = cpe.slice(8).split(/(?<!\\):/);
  return parts.length === 11 ? parts.map((p) => p.toLowerCase()) : undefined;
}

const productKey = (attributes: readonly string[]) => attributes.slice(0, 3).join(':');

function cveOf(doc: unknown): JsonObject {
  if (!isObject(doc)) return {};
  const first = objects(doc.vulnerabilities)[0];
  return first && isObject(first.cve) ? first.cve : {};
}

function buildIndex(doc: unknown): NvdIndex {
  const cve = cveOf(doc);
  const index: NvdIndex = { rejected: cve.vulnStatus === 'Rejected', byProduct: new Map(), cve };
  for (const configuration of objects(cve.configurations)) {
    const nodes = objects(configuration.nodes);
    const conditional = configuration.negate === true || (configuration.operator === 'AND' && nodes.length > 1);
    for (const node of nodes)
      for (const match of objects(node.cpeMatch)) {
        const criteria = text(match.criteria);
        const attributes = criteria ? cpeAttributes(criteria) : undefined;
        if (!criteria || !attributes || match.vulnerable !== true) continue;
        const entry = { criteria, attributes, match, conditional: conditional || node.negate === true };
        const key = productKey(attributes);
        const list = index.byProduct.get(key);
        if (list) list.push(entry);
        else index.byProduct.set(key, [entry]);
      }
  }
  return index;
}

const nvdIndex = cachedIndex(buildIndex);

/** Whether the criteria's attributes other than the version are ANY or the component's. */
function namesComponent(criteria: readonly string[], component: readonly string[]): boolean {
  return criteria.every((value, i) => i === 3 || value === '*' || value === component[i]);
}

const BOUNDS = ['versionStartIncluding', 'versionStartExcluding', 'versionEndIncluding', 'versionEndExcluding'];

/** Whether `version` satisfies one cpeMatch's version part, or why that cannot be told. */
function inRange(m: CpeMatch, version: string, order: VersionComparator): boolean | string {
  const exact = m.attributes[3] ?? '*';
  const bounds = BOUNDS.map((b) => text(m.match[b]));
  for (const v of [...bounds, exact === '*' || exact === '-' ? undefined : exact])
    if (v !== undefined && !parses(order, v)) return `${m.criteria}: ${v} is not a ${order.ecosystem} version`;
  if (exact !== '*') return exact !== '-' && order.compare(exact, version) === 0;
  const [startIn, startEx, endIn, endEx] = bounds;
  if (startIn !== undefined && order.compare(version, startIn) < 0) return false;
  if (startEx !== undefined && order.compare(version, startEx) <= 0) return false;
  if (endIn !== undefined && order.compare(version, endIn) > 0) return false;
  if (endEx !== undefined && order.compare(version, endEx) >= 0) return false;
  return true;
}

function rangeOf(m: CpeMatch): NvdMatchedRange {
  const range: NvdMatchedRange = { type: 'nvd', criteria: m.criteria };
  const [startIn, startEx, endIn, endEx] = BOUNDS.map((b) => text(m.match[b]));
  if (startIn) range.introduced = startIn;
  if (startEx) range.after = startEx;
  if (endEx) range.fixed = endEx;
  if (endIn) range.lastAffected = endIn;
  return range;
}

/** The outcome for one component (by its CPE) against one NVD record; see the file comment. */
export function matchNvd(doc: unknown, component: ComponentIdentity): MatchOutcome {
  const index = nvdIndex(doc);
  const own = component.cpe ? cpeAttributes(component.cpe) : undefined;
  if (index.rejected || !own) return NOT_AFFECTED;
  const matches = (index.byProduct.get(productKey(own)) ?? []).filter((m) => namesComponent(m.attributes, own));
  if (matches.length === 0) return NOT_AFFECTED;
  const version = own[3] !== '*' && own[3] !== '-' && own[3] ? own[3].replace(/\\/g, '') : component.version;
  const order = orderFor(component.ecosystem);
  if (!order) return unknown('ecosystem-unknown', `NVD versions need an order; ${component.ecosystem} has none`);
  if (!parses(order, version)) return unknown('version-unparseable', `${version} is not a ${order.ecosystem} version`);
  let best = NOT_AFFECTED;
  for (const m of matches) {
    const inside = inRange(m, version, order);
    if (typeof inside === 'string') best = stronger(best, unknown('version-unparseable', inside));
    else if (inside && m.conditional)
      best = stronger(best, unknown('range-unsupported', `${m.criteria} is vulnerable only with other CPEs present`));
    else if (inside) {
      const fixed = matches.flatMap((x) => text(x.match.versionEndExcluding) ?? []);
      return { kind: 'affected', range: rangeOf(m), fixedVersions: sortedFixed(fixed, order) };
    }
  }
  return best;
}

const NVD_CVSS: readonly (readonly [string, string])[] = [
  ['cvssMetricV40', 'CVSS_V4'],
  ['cvssMetricV31', 'CVSS_V3'],
  ['cvssMetricV30', 'CVSS_V3'],
  ['cvssMetricV2', 'CVSS_V2'],
];

/** Severity vectors of the record's metrics, and KEV when NVD carries CISA's cisaExploitAdd. */
export function nvdFacts(doc: unknown): SourceFacts {
  const cve = nvdIndex(doc).cve;
  const facts: SourceFacts = { severity: [] };
  const metrics = isObject(cve.metrics) ? cve.metrics : {};
  for (const [field, type] of NVD_CVSS)
    for (const metric of objects(metrics[field])) {
      const data = isObject(metric.cvssData) ? metric.cvssData : {};
      const vector = text(data.vectorString);
      if (vector) facts.severity.push({ type, score: vector });
    }
  const added = text(cve.cisaExploitAdd);
  if (added) facts.kev = { dateAdded: added };
  return facts;
}
