// SPDX-License-Identifier: Apache-2.0
// The pure OSV matcher: one component against one OSV document (parsed JSON, read with type guards).
// Only the `affected[]` entries naming the component's package count (identity.ts). An entry is
// affected when the version is listed in `versions[]` (as written, or equal in the ecosystem's order)
// or inside one of its SEMVER / ECOSYSTEM ranges (ranges.ts). SEMVER ranges are read in SemVer 2.0
// order whatever the ecosystem (the schema says so); the npm comparator is that order and accepts the
// leading `v` Go module versions carry while Go's vulndb writes its range events without it. GIT ranges
// name commits, which a component version is not, so they alone make the outcome `unknown`.
// Across entries and ranges, affected wins over unknown, which wins over not-affected: a single
// unreadable range must not hide a verdict another range gives, nor pass for "not affected".
// A document with `withdrawn` set never matches, whatever the date it names: the matcher is pure and has
// no clock, and a record announced as withdrawn is one no producer stands behind any more.
import { isObject, objects, text, texts } from '../sbom/json.ts';
import { type VersionComparator, versionComparator } from '../versions/index.ts';
import { affectedEntries, entryPackage, type PackageKey, packageKey, samePackage } from './identity.ts';
import {
  evaluateRange,
  type MatchedRange,
  type OsvMatchedRange,
  type RangeResult,
  type UnknownReason,
} from './ranges.ts';

export type { OsvPackage } from './identity.ts';
export { osvPackagesOf } from './identity.ts';
export type {
  CsafMatchedRange,
  Cve5MatchedRange,
  MatchedRange,
  NvdMatchedRange,
  OsvMatchedRange,
  RangeBounds,
} from './ranges.ts';

export interface ComponentCoordinates {
  ecosystem: string;
  packageName: string;
  version: string;
}

/** A matcher's answer; `range` records what decided it, in the shape of the advisory's format. */
export type MatchOutcome<R extends MatchedRange = MatchedRange> =
  | { kind: 'affected'; range: R; fixedVersions: string[] }
  | { kind: 'not-affected' }
  | { kind: 'unknown'; reason: UnknownReason; detail: string };

type Entry = { readonly [key: string]: unknown };

const NOT_AFFECTED: RangeResult = { kind: 'not-affected' };
const RANK: Record<RangeResult['kind'], number> = { 'not-affected': 0, unknown: 1, affected: 2 };
/** The stronger of two results; on a tie the first one found stays (document order). */
const stronger = <T extends RangeResult>(a: T, b: T): T => (RANK[b.kind] > RANK[a.kind] ? b : a);

// One comparator per ecosystem, made on first use: matching runs components × advisories times.
const comparators = new Map<string, VersionComparator>();
function comparator(ecosystem: string): VersionComparator {
  const cached = comparators.get(ecosystem);
  if (cached) return cached;
  const made = versionComparator(ecosystem);
  comparators.set(ecosystem, made);
  return made;
}

/** The SemVer 2.0 order SEMVER ranges use, for every ecosystem. */
const semverOrder = (): VersionComparator => comparator('npm');

const orderOf = (key: PackageKey): VersionComparator | undefined =>
  key.known ? comparator(key.known.name) : undefined;

/** The entries of `doc` naming the component's package; none for a withdrawn document. */
function entriesFor(doc: unknown, component: ComponentCoordinates): { key: PackageKey; entries: Entry[] } {
  const key = packageKey(component.ecosystem, component.packageName);
  if (!isObject(doc) || (doc.withdrawn !== undefined && doc.withdrawn !== null)) return { key, entries: [] };
  const entries = affectedEntries(doc).filter((entry) => {
    const pkg = entryPackage(entry);
    return pkg !== undefined && samePackage(key, packageKey(pkg.ecosystem, pkg.name));
  });
  return { key, entries };
}

/** `versions[]`: the exact string, else equality in the ecosystem's order (1.0 = 1.0.0 in Maven). */
function matchListed(listed: string[], version: string, order: VersionComparator | undefined): RangeResult {
  const hit: RangeResult = { kind: 'affected', range: { type: 'versions' } };
  if (listed.includes(version)) return hit;
  if (listed.length === 0) return NOT_AFFECTED;
  if (!order) return { kind: 'unknown', reason: 'ecosystem-unknown', detail: 'versions[] cannot be compared' };
  try {
    order.check(version);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { kind: 'unknown', reason: 'version-unparseable', detail: `the component version: ${message}` };
  }
  const equal = (v: string) => {
    try {
      return order.compare(v, version) === 0;
    } catch {
      return false; // a listed version that does not parse cannot be the component's
    }
  };
  return listed.some(equal) ? hit : NOT_AFFECTED;
}

function matchRange(
  range: Entry,
  version: string,
  order: VersionComparator | undefined,
  ecosystem: string,
): RangeResult {
  // Called for SEMVER and ECOSYSTEM ranges only (matchEntry filters the others out).
  if (range.type === 'SEMVER') return evaluateRange('SEMVER', range, version, semverOrder());
  if (order) return evaluateRange('ECOSYSTEM', range, version, order);
  return { kind: 'unknown', reason: 'ecosystem-unknown', detail: `no version order for ecosystem ${ecosystem}` };
}

// GIT ranges name commits, not versions: they count only when nothing else in the entry can be read,
// and then as `unknown`; alongside a SEMVER/ECOSYSTEM range or a versions[] list (which OSV producers
// enumerate from the GIT ranges) they add nothing those do not already say.
function matchEntry(entry: Entry, key: PackageKey, component: ComponentCoordinates): RangeResult {
  const order = orderOf(key);
  const all = objects(entry.ranges);
  const ranges = all.filter((r) => r.type === 'SEMVER' || r.type === 'ECOSYSTEM');
  const listed = texts(entry.versions);
  if (ranges.length === 0 && listed.length === 0) {
    const types = [...new Set(all.map((r) => text(r.type) ?? 'untyped'))].join(', ');
    const detail = types
      ? `only ${types} ranges, which are not evaluated`
      : 'the entry has neither ranges nor versions';
    return { kind: 'unknown', reason: 'range-unsupported', detail };
  }
  // Ranges first: when both a range and versions[] match, the range says more (introduced, fixed).
  let result: RangeResult = NOT_AFFECTED;
  for (const range of ranges) {
    result = stronger(result, matchRange(range, component.version, order, component.ecosystem));
    if (result.kind === 'affected') return result;
  }
  return stronger(result, matchListed(listed, component.version, order));
}

/** Every `fixed` of the entries' SEMVER and ECOSYSTEM ranges, once, ascending (unparseable ones last). */
function fixedOf(entries: Entry[], key: PackageKey): string[] {
  const fixed = new Set<string>();
  for (const entry of entries)
    for (const range of objects(entry.ranges)) {
      const type = text(range.type);
      if (type !== 'SEMVER' && type !== 'ECOSYSTEM') continue;
      for (const event of objects(range.events)) {
        const version = text(event.fixed);
        if (version !== undefined) fixed.add(version);
      }
    }
  const order = orderOf(key) ?? semverOrder();
  const parses = (v: string) => {
    try {
      order.check(v);
      return true;
    } catch {
      return false;
    }
  };
  const all = [...fixed];
  return [...order.sort(all.filter(parses)), ...all.filter((v) => !parses(v))];
}

/** The outcome for one component against one OSV document; see the file comment for the rules. */
export function matchOsv(doc: unknown, component: ComponentCoordinates): MatchOutcome<OsvMatchedRange> {
  const { key, entries } = entriesFor(doc, component);
  let best: MatchOutcome<OsvMatchedRange> = { kind: 'not-affected' };
  for (const entry of entries) {
    const result = matchEntry(entry, key, component);
    if (result.kind === 'affected') return { ...result, fixedVersions: fixedOf([entry], key) };
    best = stronger<MatchOutcome<OsvMatchedRange>>(best, result);
  }
  return best;
}

/** Every fixed version the document gives for the component's package (all its entries), ascending. */
export function fixedVersionsOf(doc: unknown, component: ComponentCoordinates): string[] {
  const { key, entries } = entriesFor(doc, component);
  return fixedOf(entries, key);
}
