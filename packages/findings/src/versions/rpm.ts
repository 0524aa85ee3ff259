// SPDX-License-Identifier: Apache-2.0
// RPM versions (Red Hat, AlmaLinux, Rocky Linux, openSUSE; rpm's rpmvercmp and rpmverCmp):
// [epoch:]version[-release]. Epochs compare as numbers (missing = 0), then version and release by
// rpmvercmp: alphanumeric segments in turn (numbers by value and above letters, letters by ASCII),
// other characters only separate, `~` sorts before everything and `^` after the base version but
// before anything else. rpm treats a missing release as "any" when matching; a total order cannot,
// so here a missing release sorts before every release.
import { compareDigits, compareText, invalid, type Ordering, type VersionScheme } from './scheme.ts';

export interface RpmVersion {
  readonly epoch: string;
  readonly version: string;
  readonly release: string;
}

const PART_RE = /^[A-Za-z0-9._+~^]+$/;
const isAlnum = (c: string) => /^[A-Za-z0-9]$/.test(c);
const isDigit = (c: string) => c >= '0' && c <= '9';
const isAlpha = (c: string) => /^[A-Za-z]$/.test(c);

export function parseRpmVersion(text: string): RpmVersion {
  const m = /^([0-9]+):/.exec(text);
  const epoch = m ? (m[1] ?? '0') : '0';
  const rest = m ? text.slice(m[0].length) : text;
  const hyphen = rest.lastIndexOf('-');
  const version = hyphen === -1 ? rest : rest.slice(0, hyphen);
  const release = hyphen === -1 ? '' : rest.slice(hyphen + 1);
  if (version === '') invalid('the version part is empty');
  if (!PART_RE.test(version))
    invalid('invalid character in the version (allowed: letters, digits and . _ + ~ ^; an epoch is digits then ":")');
  if (hyphen !== -1 && !PART_RE.test(release))
    invalid('the release after the last "-" is empty or has an invalid character');
  return { epoch, version, release };
}

/** Skips separators: everything that is neither alphanumeric nor `~` nor `^`. */
function skip(s: string, i: number): number {
  let k = i;
  while (k < s.length && !isAlnum(s[k] ?? '') && s[k] !== '~' && s[k] !== '^') k++;
  return k;
}

function segmentEnd(s: string, i: number, numeric: boolean): number {
  let k = i;
  while (k < s.length && (numeric ? isDigit(s[k] ?? '') : isAlpha(s[k] ?? ''))) k++;
  return k;
}

export function rpmvercmp(a: string, b: string): Ordering {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    i = skip(a, i);
    j = skip(b, j);
    const x = a[i];
    const y = b[j];
    if (x === '~' || y === '~') {
      if (x !== '~') return 1;
      if (y !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (x === '^' || y === '^') {
      if (x === undefined) return -1;
      if (y === undefined) return 1;
      if (x !== '^') return 1;
      if (y !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (x === undefined || y === undefined) break;
    const numeric = isDigit(x);
    const endA = segmentEnd(a, i, numeric);
    const endB = segmentEnd(b, j, numeric);
    // A numeric segment is newer than an alphabetic one.
    if (endB === j) return numeric ? 1 : -1;
    const c = numeric
      ? compareDigits(a.slice(i, endA), b.slice(j, endB))
      : compareText(a.slice(i, endA), b.slice(j, endB));
    if (c !== 0) return c;
    i = endA;
    j = endB;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

export const rpmScheme: VersionScheme<RpmVersion> = {
  id: 'rpm',
  rule: 'rpmvercmp: epoch, then version and release by alphanumeric segments (numbers above letters), "~" lowest, "^" just after the base version',
  parse: parseRpmVersion,
  compare(a, b) {
    return compareDigits(a.epoch, b.epoch) || rpmvercmp(a.version, b.version) || rpmvercmp(a.release, b.release);
  },
};
