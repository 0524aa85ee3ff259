// SPDX-License-Identifier: Apache-2.0
// SemVer 2.0.0 (semver.org §2, §9–§11): MAJOR.MINOR.PATCH without leading zeros, optional
// dot-separated prerelease identifiers (numeric ones compare by value and sort below alphanumeric
// ones, compared in ASCII), a version with a prerelease below the same version without, and build
// metadata ignored. npm (node-semver strict mode also takes a leading `v`) and crates.io use it.
import { compareDigits, compareText, invalid, isDigits, type Ordering, type VersionScheme } from './scheme.ts';

export interface SemVer {
  readonly major: string;
  readonly minor: string;
  readonly patch: string;
  readonly prerelease: readonly string[];
  readonly build: readonly string[];
}

const NUMBER = '0|[1-9][0-9]*';
const PRERELEASE_ID = '(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)';
const BUILD_ID = '[0-9A-Za-z-]+';
const SEMVER_RE = new RegExp(
  `^(${NUMBER})\\.(${NUMBER})\\.(${NUMBER})` +
    `(?:-(${PRERELEASE_ID}(?:\\.${PRERELEASE_ID})*))?` +
    `(?:\\+(${BUILD_ID}(?:\\.${BUILD_ID})*))?$`,
);

/** Why a string is not SemVer 2.0.0, in words an operator can act on. */
function semverProblem(text: string): string {
  const core = text.split(/[-+]/, 1)[0] ?? '';
  const parts = core.split('.');
  if (parts.length !== 3) return `it needs exactly three numeric parts MAJOR.MINOR.PATCH, found ${parts.length}`;
  if (parts.some((p) => !isDigits(p))) return 'MAJOR.MINOR.PATCH must be numbers';
  if (parts.some((p) => p.length > 1 && p.startsWith('0'))) return 'numeric parts must not have leading zeros';
  return 'the prerelease or build part is malformed (identifiers are [0-9A-Za-z-], dot-separated, numeric ones without leading zeros)';
}

export function parseSemVer(text: string, options: { allowV?: boolean } = {}): SemVer {
  const body = options.allowV && text.startsWith('v') ? text.slice(1) : text;
  const m = SEMVER_RE.exec(body);
  if (!m) invalid(`not SemVer 2.0.0: ${semverProblem(body)}`);
  return {
    major: m[1] ?? '0',
    minor: m[2] ?? '0',
    patch: m[3] ?? '0',
    prerelease: m[4] === undefined ? [] : m[4].split('.'),
    build: m[5] === undefined ? [] : m[5].split('.'),
  };
}

/** SemVer §11.4: numeric identifiers by value, below alphanumeric ones (ASCII); a prefix sorts first. */
export function compareIdentifiers(
  a: readonly string[],
  b: readonly string[],
  fold: (id: string) => string = (id) => id,
): Ordering {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? '';
    const y = b[i] ?? '';
    const xNumeric = isDigits(x);
    const yNumeric = isDigits(y);
    let c: Ordering;
    if (xNumeric && yNumeric) c = compareDigits(x, y);
    else if (xNumeric !== yNumeric) c = xNumeric ? -1 : 1;
    else c = compareText(fold(x), fold(y));
    if (c !== 0) return c;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

export function compareCore(a: SemVer, b: SemVer): Ordering {
  return compareDigits(a.major, b.major) || compareDigits(a.minor, b.minor) || compareDigits(a.patch, b.patch);
}

/** Precedence per SemVer §11: core, then "has a prerelease" sorts lower, then the identifiers. */
export function compareSemVer(a: SemVer, b: SemVer): Ordering {
  const core = compareCore(a, b);
  if (core !== 0) return core;
  if (a.prerelease.length === 0 || b.prerelease.length === 0) {
    if (a.prerelease.length === b.prerelease.length) return 0;
    return a.prerelease.length === 0 ? 1 : -1;
  }
  return compareIdentifiers(a.prerelease, b.prerelease);
}

export const npmScheme: VersionScheme<SemVer> = {
  id: 'semver',
  rule: 'SemVer 2.0.0 precedence (a leading "v" is accepted as node-semver does); build metadata ignored',
  parse: (text) => parseSemVer(text, { allowV: true }),
  compare: compareSemVer,
};

export const cratesScheme: VersionScheme<SemVer> = {
  id: 'semver',
  rule: 'SemVer 2.0.0 precedence, strict (no "v" prefix, as Cargo); build metadata ignored',
  parse: (text) => parseSemVer(text),
  compare: compareSemVer,
};
