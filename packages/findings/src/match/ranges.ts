// SPDX-License-Identifier: Apache-2.0
// One OSV SEMVER or ECOSYSTEM range against one version, per the OSV schema's "Evaluation" section:
// the events are sorted by the range's version order, then walked once: an `introduced` at or below the
// version opens the range (`"0"` opens it from the start), a `fixed` at or below it closes it (fixed is
// exclusive), a `last_affected` strictly below it closes it (last_affected is inclusive). `limit` events
// cap the range: a version at or above every limit is outside it (`"*"` is no cap). Every event and the
// version itself must parse in the order first: a range read on a guess would report a wrong verdict
// with the same confidence as a right one, so anything unparseable is an `unknown`, never a yes or no.
import { StellaError } from '@stella/core';
import { FindingsErrors } from '../errors.ts';
import { objects, text } from '../sbom/json.ts';
import type { VersionComparator } from '../versions/index.ts';

export type RangeType = 'SEMVER' | 'ECOSYSTEM';
export type EventKind = 'introduced' | 'fixed' | 'last_affected' | 'limit';

/** The bounds of a matched range, named alike in every format: lower bound, exclusive and inclusive upper. */
export interface RangeBounds {
  introduced?: string;
  fixed?: string;
  lastAffected?: string;
  limit?: string;
}

/** An OSV SEMVER / ECOSYSTEM range, or a hit in an OSV entry's versions[] list. */
export interface OsvMatchedRange extends RangeBounds {
  type: RangeType | 'versions';
}

/** The CSAF product status that decided (match/csaf.ts): which product, under which vulnerability. */
export interface CsafMatchedRange extends RangeBounds {
  type: 'csaf';
  status: 'known_affected' | 'first_affected' | 'last_affected' | 'fixed' | 'first_fixed' | 'vendor_fix';
  product: string;
  vulnerability?: string;
}

/** The CVE 5 version entry (or the defaultStatus) that decided (match/cve5.ts). */
export interface Cve5MatchedRange extends RangeBounds {
  type: 'cve5';
  /** `version` when a single version matched, `range` for a lessThan / lessThanOrEqual entry, `default` for defaultStatus. */
  by: 'version' | 'range' | 'default';
  versionType?: string;
  /** The `changes[].at` whose status applied, when one did. */
  change?: string;
}

/** The NVD cpeMatch that decided (match/nvd.ts); `introduced`/`fixed`/`lastAffected` carry its version bounds. */
export interface NvdMatchedRange extends RangeBounds {
  type: 'nvd';
  criteria: string;
  /** versionStartExcluding, which has no counterpart among the shared bounds. */
  after?: string;
}

export type MatchedRange = OsvMatchedRange | CsafMatchedRange | Cve5MatchedRange | NvdMatchedRange;

/** Why a matcher could not decide; `status-unknown` is the source itself saying it does not know (CVE 5). */
export type UnknownReason = 'ecosystem-unknown' | 'version-unparseable' | 'range-unsupported' | 'status-unknown';

export type RangeResult =
  | { kind: 'affected'; range: OsvMatchedRange }
  | { kind: 'not-affected' }
  | { kind: 'unknown'; reason: UnknownReason; detail: string };

interface RangeEvent {
  kind: EventKind;
  version: string;
}

const EVENT_KINDS: readonly EventKind[] = ['introduced', 'fixed', 'last_affected', 'limit'];
// At equal versions an `introduced` sorts first, so `introduced: X, fixed: X` is the empty range and
// `introduced: X, last_affected: X` is exactly X, whatever order the producer wrote them in.
const TIE_ORDER: Record<EventKind, number> = { introduced: 0, last_affected: 1, fixed: 2, limit: 3 };

/** Whether an event version is a sentinel that is outside the version order (`introduced: "0"`, `limit: "*"`). */
const isStart = (e: RangeEvent) => e.kind === 'introduced' && e.version === '0';
const isEndless = (e: RangeEvent) => e.kind === 'limit' && e.version === '*';

/** The events of a range, or a reason it cannot be read (an event with no known kind or no version). */
export function rangeEvents(range: { readonly [key: string]: unknown }): RangeEvent[] | string {
  const events: RangeEvent[] = [];
  for (const event of objects(range.events)) {
    const kind = EVENT_KINDS.find((k) => text(event[k]) !== undefined);
    const version = kind === undefined ? undefined : text(event[kind]);
    if (kind === undefined || version === undefined)
      return `an event has none of ${EVENT_KINDS.join(', ')}: ${JSON.stringify(event).slice(0, 80)}`;
    events.push({ kind, version });
  }
  if (events.length === 0) return 'the range has no events';
  return events;
}

function unparseable(error: unknown, where: string): RangeResult {
  if (!(error instanceof StellaError) || error.code !== FindingsErrors.versionUnparseable.code) throw error;
  return { kind: 'unknown', reason: 'version-unparseable', detail: `${where}: ${error.message}` };
}

function sortEvents(events: RangeEvent[], order: VersionComparator): RangeEvent[] {
  const rank = (e: RangeEvent) => (isStart(e) ? -1 : isEndless(e) ? 1 : 0);
  return [...events].sort((a, b) => {
    const sentinel = rank(a) - rank(b);
    if (sentinel !== 0 || rank(a) !== 0) return sentinel || TIE_ORDER[a.kind] - TIE_ORDER[b.kind];
    return order.compare(a.version, b.version) || TIE_ORDER[a.kind] - TIE_ORDER[b.kind];
  });
}

/** The matched range: the `introduced` that opened it, the first closing event after it, the nearest cap. */
function describe(type: RangeType, sorted: RangeEvent[], opened: number, limit: string | undefined): OsvMatchedRange {
  const range: OsvMatchedRange = { type };
  const start = sorted[opened];
  if (start) range.introduced = start.version;
  const end = sorted.slice(opened + 1).find((e) => e.kind === 'fixed' || e.kind === 'last_affected');
  if (end?.kind === 'fixed') range.fixed = end.version;
  if (end?.kind === 'last_affected') range.lastAffected = end.version;
  if (limit !== undefined) range.limit = limit;
  return range;
}

/** Whether `version` is inside one range whose versions all follow `order`. */
export function evaluateRange(
  type: RangeType,
  range: { readonly [key: string]: unknown },
  version: string,
  order: VersionComparator,
): RangeResult {
  const events = rangeEvents(range);
  if (typeof events === 'string') return { kind: 'unknown', reason: 'range-unsupported', detail: events };
  try {
    order.check(version);
  } catch (error) {
    return unparseable(error, 'the component version');
  }
  let sorted: RangeEvent[];
  try {
    for (const e of events) if (!isStart(e) && !isEndless(e)) order.check(e.version);
    sorted = sortEvents(events, order);
  } catch (error) {
    return unparseable(error, `a ${type} range event`);
  }
  const cmp = (e: RangeEvent) => order.compare(version, e.version);
  let opened = -1;
  sorted.forEach((e, i) => {
    if (e.kind === 'introduced' && (isStart(e) || cmp(e) >= 0)) opened = i;
    else if (e.kind === 'fixed' && cmp(e) >= 0) opened = -1;
    else if (e.kind === 'last_affected' && cmp(e) > 0) opened = -1;
  });
  const limits = sorted.filter((e) => e.kind === 'limit');
  const cap = limits.find((e) => isEndless(e) || cmp(e) < 0);
  if (opened < 0 || (limits.length > 0 && cap === undefined)) return { kind: 'not-affected' };
  return { kind: 'affected', range: describe(type, sorted, opened, cap?.version) };
}
