// SPDX-License-Identifier: Apache-2.0
// Maven versions (maven-artifact ComparableVersion; the POM reference's "Version Order Specification").
// The string is lower-cased and cut into items at `.`, `-` and every digit/letter transition; a
// `-` (or a letter after digits) opens a nested list. Numbers compare by value and above everything
// else; qualifiers order alpha(a) < beta(b) < milestone(m) < rc(cr) < snapshot < "" = ga = final =
// release < sp < any other qualifier (those by text); a letter run followed by digits ("rc1",
// "alpha-2") is one combined item. Trailing zeros and empty qualifiers are dropped, so 1 = 1.0 = 1-0.
import { compareDigits, compareText, negate, type Ordering, sign, stripZeros, type VersionScheme } from './scheme.ts';

interface NumberItem {
  readonly kind: 'number';
  readonly digits: string;
}
interface QualifierItem {
  readonly kind: 'qualifier';
  readonly value: string;
}
interface CombinationItem {
  readonly kind: 'combination';
  readonly qualifier: QualifierItem;
  readonly number: NumberItem;
}
interface ListItem {
  readonly kind: 'list';
  readonly items: Item[];
}
type Item = NumberItem | QualifierItem | CombinationItem | ListItem;

const ZERO: NumberItem = { kind: 'number', digits: '0' };
const KNOWN_QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const RELEASE_QUALIFIERS = new Set(['ga', 'final', 'release']);
const SHORT_QUALIFIERS = new Map([
  ['a', 'alpha'],
  ['b', 'beta'],
  ['m', 'milestone'],
]);
const RELEASE_KEY = String(KNOWN_QUALIFIERS.indexOf(''));
const isAsciiDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

function qualifier(value: string, followedByDigit: boolean): QualifierItem {
  let v = value;
  // a1 = alpha-1, b1 = beta-1, m1 = milestone-1: only when a number follows.
  if (followedByDigit && v.length === 1) v = SHORT_QUALIFIERS.get(v) ?? v;
  return { kind: 'qualifier', value: v === 'cr' ? 'rc' : v };
}

/** Known qualifiers by rank, then release aliases as "", then unknown ones after all of them, by text. */
function qualifierKey(value: string): string {
  if (RELEASE_QUALIFIERS.has(value)) return RELEASE_KEY;
  const i = KNOWN_QUALIFIERS.indexOf(value);
  return i === -1 ? `${KNOWN_QUALIFIERS.length}-${value}` : String(i);
}

function isNull(item: Item): boolean {
  if (item.kind === 'number') return item.digits === '0';
  if (item.kind === 'qualifier') return item.value === '';
  if (item.kind === 'list') return item.items.length === 0;
  return false;
}

function compareNumber(a: NumberItem, b: Item | null): Ordering {
  if (b === null) return a.digits === '0' ? 0 : 1;
  return b.kind === 'number' ? compareDigits(a.digits, b.digits) : 1;
}

function compareQualifier(a: QualifierItem, b: Item | null): Ordering {
  if (b === null) return sign(compareText(qualifierKey(a.value), RELEASE_KEY));
  switch (b.kind) {
    case 'number':
      return -1;
    case 'qualifier':
      return compareText(qualifierKey(a.value), qualifierKey(b.value));
    case 'combination': {
      const r = compareQualifier(a, b.qualifier);
      if (r !== 0) return r;
      return compareQualifier(a, null) === 0 ? negate(compareNumber(b.number, null)) : -1;
    }
    case 'list':
      return negate(compareList(b, a));
  }
}

function compareCombination(a: CombinationItem, b: Item | null): Ordering {
  if (b === null) return compareQualifier(a.qualifier, null) || compareNumber(a.number, null);
  switch (b.kind) {
    case 'number':
      return -1;
    case 'qualifier': {
      const r = compareQualifier(a.qualifier, b);
      if (r !== 0) return r;
      return compareQualifier(a.qualifier, null) === 0 ? compareNumber(a.number, null) : 1;
    }
    case 'combination':
      return compareQualifier(a.qualifier, b.qualifier) || compareNumber(a.number, b.number);
    case 'list':
      return negate(compareList(b, a));
  }
}

function compareList(a: ListItem, b: Item | null): Ordering {
  if (b === null || b.kind === 'list') {
    const other = b === null ? [] : b.items;
    const n = Math.max(a.items.length, other.length);
    for (let i = 0; i < n; i++) {
      const x = a.items[i];
      const y = other[i] ?? null;
      const r = x === undefined ? (y === null ? 0 : negate(compareItem(y, null))) : compareItem(x, y);
      if (r !== 0) return r;
    }
    return 0;
  }
  if (b.kind === 'number') return -1;
  const first = a.items[0];
  let r: Ordering = first === undefined ? negate(compareItem(b, null)) : compareItem(first, b);
  for (let i = 1; r === 0 && i < a.items.length; i++) r = compareItem(a.items[i] ?? ZERO, null);
  return r;
}

function compareItem(a: Item, b: Item | null): Ordering {
  switch (a.kind) {
    case 'number':
      return compareNumber(a, b);
    case 'qualifier':
      return compareQualifier(a, b);
    case 'combination':
      return compareCombination(a, b);
    case 'list':
      return compareList(a, b);
  }
}

function parseItem(combination: boolean, digits: boolean, text: string): Item {
  if (combination) {
    const joined = text.replace(/-/g, '');
    const firstDigit = joined.search(/[0-9]/);
    const at = firstDigit === -1 ? 0 : firstDigit;
    return {
      kind: 'combination',
      qualifier: qualifier(joined.slice(0, at), true),
      number: { kind: 'number', digits: stripZeros(joined.slice(at) || '0') },
    };
  }
  return digits ? { kind: 'number', digits: stripZeros(text) } : qualifier(text, false);
}

/** Drops null items that end a list or precede a qualifier, then unwraps a list left holding one list. */
function normalize(items: Item[]): void {
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i];
    if (item === undefined || !isNull(item)) continue;
    const next = items[i + 1];
    if (next === undefined || next.kind === 'qualifier') items.splice(i, 1);
    else if (next.kind === 'list') {
      const head = next.items[0];
      if (head !== undefined && (head.kind === 'combination' || head.kind === 'qualifier')) items.splice(i, 1);
    }
  }
  const only = items[0];
  if (items.length === 1 && only !== undefined && only.kind === 'list') items.splice(0, 1, ...only.items);
}

/** Cuts the version into items; see ComparableVersion.parseVersion for the rules this follows. */
export function parseMavenVersion(text: string): ListItem {
  const version = text.toLowerCase();
  const root: ListItem = { kind: 'list', items: [] };
  const lists: ListItem[] = [root];
  let list = root;
  const openList = () => {
    const next: ListItem = { kind: 'list', items: [] };
    list.items.push(next);
    list = next;
    lists.push(next);
  };
  let inDigits = false;
  let combination = false;
  let start = 0;
  for (let i = 0; i < version.length; i++) {
    const c = version[i];
    if (c === '.' || c === '-') {
      if (i === start) list.items.push(ZERO);
      else if (c === '-' && !inDigits && isAsciiDigit(version[i + 1])) {
        // X-1 is read as X1: the hyphen stays inside the combined item.
        combination = true;
        continue;
      } else list.items.push(parseItem(combination, inDigits, version.slice(start, i)));
      start = i + 1;
      if (c === '-' && list.items.length > 0) openList();
      combination = false;
    } else if (isAsciiDigit(c)) {
      if (!inDigits && i > start) {
        combination = true;
        if (list.items.length > 0) openList();
      }
      inDigits = true;
    } else {
      if (inDigits && i > start) {
        list.items.push(parseItem(combination, true, version.slice(start, i)));
        start = i;
        openList();
        combination = false;
      }
      inDigits = false;
    }
  }
  if (version.length > start) {
    // 1.0.0.X1 < 1.0.0-X2: a trailing .X is read as -X.
    if (!inDigits && list.items.length > 0) openList();
    list.items.push(parseItem(combination, inDigits, version.slice(start)));
  }
  for (let i = lists.length - 1; i >= 0; i--) normalize(lists[i]?.items ?? []);
  return root;
}

export const mavenScheme: VersionScheme<ListItem> = {
  id: 'maven',
  rule: 'Maven ComparableVersion: items split at . - and digit/letter changes, alpha<beta<milestone<rc=cr<snapshot<""=ga=final=release<sp<other qualifiers<numbers, trailing zeros ignored',
  parse: parseMavenVersion,
  compare: (a, b) => compareList(a, b),
};
