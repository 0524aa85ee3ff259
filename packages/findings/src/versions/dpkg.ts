// SPDX-License-Identifier: Apache-2.0
// Debian and Ubuntu package versions (deb-version(7), dpkg lib/dpkg/version.c): [epoch:]upstream[-revision].
// Epochs compare as numbers, then upstream and revision with dpkg's verrevcmp: alternating runs of
// non-digits (compared character by character, `~` before everything including the end, letters
// before non-letters) and digits (compared by value).
import { compareDigits, invalid, isDigitCode, type Ordering, type VersionScheme } from './scheme.ts';

export interface DebianVersion {
  readonly epoch: string;
  readonly upstream: string;
  readonly revision: string;
}

// dpkg refuses epochs above INT_MAX ("epoch in version is too big").
const MAX_EPOCH = 2147483647;

export function parseDebianVersion(text: string): DebianVersion {
  let epoch = '0';
  let rest = text;
  const colon = text.indexOf(':');
  if (colon !== -1) {
    epoch = text.slice(0, colon);
    if (!/^[0-9]+$/.test(epoch)) invalid('the epoch (before the first ":") must be a non-negative number');
    if (Number(epoch) > MAX_EPOCH) invalid('the epoch is too big');
    rest = text.slice(colon + 1);
    if (rest === '') invalid('nothing after the epoch colon');
  }
  const hyphen = rest.lastIndexOf('-');
  const upstream = hyphen === -1 ? rest : rest.slice(0, hyphen);
  const revision = hyphen === -1 ? '' : rest.slice(hyphen + 1);
  if (upstream === '') invalid('the upstream version is empty');
  if (!isDigitCode(upstream.charCodeAt(0))) invalid('the upstream version must start with a digit');
  if (!/^[A-Za-z0-9.+~:-]+$/.test(upstream))
    invalid('invalid character in the upstream version (allowed: letters, digits and . + ~ - :)');
  if (revision !== '' && !/^[A-Za-z0-9.+~]+$/.test(revision))
    invalid('invalid character in the revision (allowed: letters, digits and . + ~)');
  return { epoch, upstream, revision };
}

/** dpkg's order of one non-digit character: `~` lowest, then the end of string, letters, then the rest. */
function weight(s: string, i: number): number {
  if (i >= s.length) return 0;
  const c = s.charCodeAt(i);
  if (isDigitCode(c)) return 0;
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return c;
  if (c === 126) return -1;
  return c + 256;
}

export function verrevcmp(a: string, b: string): Ordering {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigitCode(a.charCodeAt(i))) || (j < b.length && !isDigitCode(b.charCodeAt(j)))) {
      const d = weight(a, i) - weight(b, j);
      if (d !== 0) return d < 0 ? -1 : 1;
      i++;
      j++;
    }
    const startA = i;
    const startB = j;
    while (i < a.length && isDigitCode(a.charCodeAt(i))) i++;
    while (j < b.length && isDigitCode(b.charCodeAt(j))) j++;
    const c = compareDigits(a.slice(startA, i) || '0', b.slice(startB, j) || '0');
    if (c !== 0) return c;
  }
  return 0;
}

export const dpkgScheme: VersionScheme<DebianVersion> = {
  id: 'dpkg',
  rule: 'dpkg: epoch, then upstream and revision by verrevcmp (digits by value, "~" before everything, letters before other characters)',
  parse: parseDebianVersion,
  compare(a, b) {
    return compareDigits(a.epoch, b.epoch) || verrevcmp(a.upstream, b.upstream) || verrevcmp(a.revision, b.revision);
  },
};
