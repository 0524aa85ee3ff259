// SPDX-License-Identifier: Apache-2.0
// Packagist (Composer) versions: first normalised as composer/semver's VersionParser::normalize does
// (a leading `v` dropped, padded to four numbers, stability suffixes expanded: b → beta, pl/p →
// patch, rc → RC; +build metadata dropped), then ordered as PHP's version_compare orders the
// normalised strings: numbers by value, and dev < alpha < beta < RC < (a number, i.e. stable) <
// patch. Branch versions (dev-master, 1.x-dev) have no release order and are refused.
import { compareDigits, invalid, type Ordering, sign, type VersionScheme } from './scheme.ts';

const MODIFIER = '[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\\d+)*)?)?([.-]?dev)?';
const CLASSICAL_RE = new RegExp(`^v?(\\d{1,5})(\\.\\d+)?(\\.\\d+)?(\\.\\d+)?${MODIFIER}$`, 'i');
const DATE_RE = new RegExp(`^v?(\\d{4}(?:[.:-]?\\d{2}){1,6}(?:[.:-]?\\d{1,3}){0,2})${MODIFIER}$`, 'i');
const STABILITY_FLAG_RE = /@(?:stable|RC|beta|alpha|dev)$/i;
const BRANCHES = new Set(['master', 'trunk', 'default']);

function expandStability(stability: string): string {
  const s = stability.toLowerCase();
  if (s === 'a') return 'alpha';
  if (s === 'b') return 'beta';
  if (s === 'p' || s === 'pl') return 'patch';
  if (s === 'rc') return 'RC';
  return s;
}

function withModifier(
  base: string,
  stability: string | undefined,
  number: string | undefined,
  dev: string | undefined,
) {
  let version = base;
  if (stability) {
    if (stability.toLowerCase() === 'stable') return version;
    version += `-${expandStability(stability)}${(number ?? '').replace(/^[.-]+/, '')}`;
  }
  return dev ? `${version}-dev` : version;
}

/** composer/semver VersionParser::normalize for exact versions; branches and constraints are refused. */
export function normalizeComposerVersion(text: string): string {
  let version = text.replace(STABILITY_FLAG_RE, '');
  if (/^dev-/i.test(version) || BRANCHES.has(version.toLowerCase()) || /(?:^|[.])[x*](?:[.-]|$)/i.test(version))
    invalid('branch versions (dev-…, N.x-dev) have no release order; compare tagged releases');
  const build = /^([^,\s+]+)\+[^\s]+$/.exec(version);
  if (build) version = build[1] ?? version;
  const classical = CLASSICAL_RE.exec(version);
  if (classical) {
    const base = `${classical[1]}${classical[2] || '.0'}${classical[3] || '.0'}${classical[4] || '.0'}`;
    return withModifier(base, classical[5], classical[6], classical[7]);
  }
  const date = DATE_RE.exec(version);
  if (date) return withModifier((date[1] ?? '').replace(/\D/g, '.'), date[2], date[3], date[4]);
  return invalid(
    'not a Composer version: [v]N[.N[.N[.N]]] or a date, optionally followed by -dev, -alpha/-a, -beta/-b, -RC, -patch/-pl/-p with a number',
  );
}

/** PHP's special forms: any token starting with one of these prefixes, first match wins; unknown is lowest. */
const SPECIAL_FORMS: readonly (readonly [string, number])[] = [
  ['dev', 0],
  ['alpha', 1],
  ['a', 1],
  ['beta', 2],
  ['b', 2],
  ['RC', 3],
  ['rc', 3],
  ['#', 4],
  ['pl', 5],
  ['p', 5],
];
const NUMBER_FORM = 4;

function specialForm(token: string): number {
  for (const [prefix, order] of SPECIAL_FORMS) if (token.startsWith(prefix)) return order;
  return -1;
}

/** php_version_compare's canonical form: `-_+` and digit/letter changes become dots; empty tokens dropped. */
function phpTokens(version: string): string[] {
  return version
    .replace(/[^A-Za-z0-9]+/g, '.')
    .replace(/([0-9])(?=[^0-9.])|([^0-9.])(?=[0-9])/g, '$1$2.')
    .split('.')
    .filter((t) => t !== '');
}

const isNumeric = (t: string) => /^[0-9]/.test(t);

export function phpVersionCompare(a: readonly string[], b: readonly string[]): Ordering {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? '';
    const y = b[i] ?? '';
    let c: Ordering;
    if (isNumeric(x) && isNumeric(y)) c = compareDigits(x, y);
    else if (!isNumeric(x) && !isNumeric(y)) c = sign(specialForm(x) - specialForm(y));
    else c = isNumeric(x) ? sign(NUMBER_FORM - specialForm(y)) : sign(specialForm(x) - NUMBER_FORM);
    if (c !== 0) return c;
  }
  // The longer one wins if it goes on with a number; otherwise its next token decides against "a number".
  if (a.length > n) return isNumeric(a[n] ?? '') ? 1 : sign(specialForm(a[n] ?? '') - NUMBER_FORM);
  if (b.length > n) return isNumeric(b[n] ?? '') ? -1 : sign(NUMBER_FORM - specialForm(b[n] ?? ''));
  return 0;
}

export const packagistScheme: VersionScheme<readonly string[]> = {
  id: 'composer',
  rule: 'Composer: normalised to four numbers plus stability, then version_compare: dev < alpha < beta < RC < stable < patch',
  parse: (text) => phpTokens(normalizeComposerVersion(text)),
  compare: phpVersionCompare,
};
