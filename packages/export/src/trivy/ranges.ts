// SPDX-License-Identifier: Apache-2.0
// OSV `affected[].ranges` / `versions` → the constraint strings Trivy matches on (docs/trivy.md "Version
// ranges"). Following trivy-db's OSV path: introduced X → `>=X` (left out when X is `0`), fixed Y → `<Y`
// with Y also in PatchedVersions, last_affected Z → `<=Z` (`=Z` when it equals the start), one string
// per interval joined as `>=X, <Y`; an interval with no end stays `>=X`; `versions[]` not already
// inside an interval become `=v`. Where trivy-db is lax we are strict, because a range that matches
// wrongly is worse than none: events are put in version order before they are read (OSV's rule), a
// second `introduced` inside an open interval does not start another one (trivy-db would emit an
// open-ended `>=X` for it), every version must parse in the ecosystem's own scheme (the comparators of
// @stella/findings) and must not carry constraint syntax (`,` `|` blanks or a leading operator), and a
// range Trivy cannot express (GIT commits, `limit` events, an end with no start) is dropped and
// reported, never widened. OS buckets only hold a fixed version, so an OS range must start at 0.
import { type VersionComparator, versionComparator } from '@stella/findings';

export interface RangeContext {
  /** The findings comparator of the ecosystem, when there is one. */
  order: VersionComparator | undefined;
  /** Apply GHSA's `database_specific.last_known_affected_version_range` to open intervals. */
  ghsa: boolean;
}

export interface LangRanges {
  vulnerable: string[];
  patched: string[];
  /** One entry per dropped range or version, naming it. */
  problems: string[];
}

export interface OsFix {
  fixed: string[];
  unfixed: boolean;
  problems: string[];
}

interface Interval {
  /** undefined: from the first version (`introduced: "0"`). */
  from?: string;
  to?: string;
  toIncluded: boolean;
}

type JsonObject = Record<string, unknown>;
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

const comparators = new Map<string, VersionComparator>();
/** The comparator for an OSV ecosystem name, made once. */
export function orderOf(ecosystem: string | undefined): VersionComparator | undefined {
  if (ecosystem === undefined) return undefined;
  let made = comparators.get(ecosystem);
  if (!made) {
    made = versionComparator(ecosystem);
    comparators.set(ecosystem, made);
  }
  return made;
}

// Without a comparator (Hex, SwiftURL, Bitnami, Kubernetes) only plain dotted versions are let through.
const PLAIN_VERSION = /^v?[0-9][0-9A-Za-z.+_-]*$/;
const CONSTRAINT_SYNTAX = /[\s,|]|^[<>=!~^]/;

/** Why `version` cannot go into a constraint string, or undefined when it can. */
export function versionProblem(version: unknown, order: VersionComparator | undefined): string | undefined {
  if (typeof version !== 'string' || version === '') return 'empty or not a string';
  if (CONSTRAINT_SYNTAX.test(version)) return 'contains constraint syntax';
  if (!order) return PLAIN_VERSION.test(version) ? undefined : 'not a plain dotted version';
  try {
    order.check(version);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : 'does not parse';
  }
}

const shown = (v: unknown) => JSON.stringify(typeof v === 'string' && v.length > 60 ? `${v.slice(0, 60)}…` : v);

interface Event {
  kind: 'introduced' | 'fixed' | 'last_affected' | 'limit';
  version: string;
}

/** The events of one range, checked and in version order; or the reason the range cannot be used. */
function readEvents(range: JsonObject, order: VersionComparator | undefined): Event[] | string {
  if (!Array.isArray(range.events) || range.events.length === 0) return 'has no events';
  const events: Event[] = [];
  for (const raw of range.events) {
    if (!isObject(raw)) return 'has an event that is not an object';
    const keys = Object.keys(raw).filter((k) => k !== 'database_specific');
    const kind = keys[0];
    if (keys.length !== 1 || !['introduced', 'fixed', 'last_affected', 'limit'].includes(kind ?? '')) {
      return `has an event with keys ${shown(keys.join(','))}`;
    }
    if (kind === 'limit') return 'has a limit event, which a Trivy constraint cannot express';
    const version = raw[kind as string];
    if (!(kind === 'introduced' && version === '0')) {
      const problem = versionProblem(version, order);
      if (problem) return `${kind} ${shown(version)}: ${problem}`;
    }
    events.push({ kind: kind as Event['kind'], version: version as string });
  }
  if (order) {
    const rank = (e: Event) => (e.kind === 'introduced' && e.version === '0' ? undefined : e.version);
    events.sort((a, b) => {
      const x = rank(a);
      const y = rank(b);
      if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? -1 : 1;
      return order.compare(x, y);
    });
  }
  return events;
}

/** OSV's evaluation: an interval opens at introduced and closes at the next fixed / last_affected. */
function intervalsOf(events: Event[]): Interval[] {
  const out: Interval[] = [];
  let open: Interval | undefined;
  for (const e of events) {
    if (e.kind === 'introduced') {
      if (open) continue;
      open = { from: e.version === '0' ? undefined : e.version, toIncluded: false };
      out.push(open);
    } else if (open) {
      open.to = e.version;
      open.toIncluded = e.kind === 'last_affected';
      open = undefined;
    }
  }
  return out;
}

function constraint(i: Interval): string {
  if (i.toIncluded && i.from !== undefined && i.from === i.to) return `=${i.from}`;
  const end = i.to === undefined ? undefined : `${i.toIncluded ? '<=' : '<'}${i.to}`;
  if (end === undefined) return `>=${i.from ?? '0'}`;
  return i.from === undefined ? end : `>=${i.from}, ${end}`;
}

function contains(i: Interval, v: string, order: VersionComparator): boolean {
  if (i.from !== undefined && order.compare(v, i.from) < 0) return false;
  if (i.to === undefined) return true;
  const c = order.compare(v, i.to);
  return i.toIncluded ? c <= 0 : c < 0;
}

/** GHSA's `<= 1.2.3` / `< 1.2.3` upper bound for open intervals, when it is usable. */
function lastKnown(affected: JsonObject, order: VersionComparator | undefined): string | undefined {
  const specific = affected.database_specific;
  if (!isObject(specific) || typeof specific.last_known_affected_version_range !== 'string') return undefined;
  const text = specific.last_known_affected_version_range.replaceAll(' ', '');
  const m = /^(<=|<)(.+)$/.exec(text);
  if (!m || versionProblem(m[2], order)) return undefined;
  return `${m[1]}${m[2]}`;
}

function rangesOf(affected: JsonObject): JsonObject[] {
  return Array.isArray(affected.ranges) ? affected.ranges.filter(isObject) : [];
}

/** Language buckets: VulnerableVersions / PatchedVersions of one `affected[]` entry. */
export function langRanges(affected: JsonObject, ctx: RangeContext): LangRanges {
  const out: LangRanges = { vulnerable: [], patched: [], problems: [] };
  const versions = Array.isArray(affected.versions) ? affected.versions : [];
  const kept: Interval[] = [];
  for (const [index, range] of rangesOf(affected).entries()) {
    if (range.type === 'GIT') {
      if (versions.length === 0)
        out.problems.push(`range ${index} is GIT (commits Trivy cannot match) and no versions[] cover it`);
      continue;
    }
    if (range.type !== 'SEMVER' && range.type !== 'ECOSYSTEM') {
      out.problems.push(`range ${index} has type ${shown(range.type)}`);
      continue;
    }
    const events = readEvents(range, ctx.order);
    if (typeof events === 'string') {
      out.problems.push(`range ${index} ${events}`);
      continue;
    }
    const intervals = intervalsOf(events);
    if (intervals.length === 0) {
      out.problems.push(`range ${index} has no introduced event`);
      continue;
    }
    kept.push(...intervals);
    for (const i of intervals) {
      out.vulnerable.push(constraint(i));
      if (i.to !== undefined && !i.toIncluded) out.patched.push(i.to);
    }
  }
  const bound = ctx.ghsa ? lastKnown(affected, ctx.order) : undefined;
  if (bound) out.vulnerable = out.vulnerable.map((v) => (v.includes('<') || v.startsWith('=') ? v : `${v}, ${bound}`));
  for (const v of versions) {
    const problem = versionProblem(v, ctx.order);
    if (problem) {
      out.problems.push(`version ${shown(v)}: ${problem}`);
      continue;
    }
    const order = ctx.order;
    if (order && kept.some((i) => contains(i, v as string, order))) continue;
    out.vulnerable.push(`=${v}`);
  }
  return out;
}

/** OS buckets: the fixed versions of one `affected[]` entry (a FixedVersion each), or that it has none. */
export function osFix(affected: JsonObject, order: VersionComparator): OsFix {
  const out: OsFix = { fixed: [], unfixed: false, problems: [] };
  for (const [index, range] of rangesOf(affected).entries()) {
    if (range.type !== 'ECOSYSTEM' && range.type !== 'SEMVER') {
      out.problems.push(`range ${index} has type ${shown(range.type)}`);
      continue;
    }
    const events = readEvents(range, order);
    if (typeof events === 'string') {
      out.problems.push(`range ${index} ${events}`);
      continue;
    }
    const intervals = intervalsOf(events);
    const usable = intervals.filter((i) => i.from === undefined && !i.toIncluded);
    if (intervals.length === 0 || usable.length !== intervals.length) {
      out.problems.push(
        `range ${index} does not start at 0 or ends in last_affected; an OS bucket holds only a fixed version`,
      );
      continue;
    }
    for (const i of usable) {
      if (i.to === undefined) out.unfixed = true;
      else out.fixed.push(i.to);
    }
  }
  return out;
}
