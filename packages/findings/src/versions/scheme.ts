// SPDX-License-Identifier: Apache-2.0
// What every version scheme is: a strict parser (it refuses what its upstream refuses, never guesses)
// and a total order over what it parsed. The registry in index.ts maps OSV ecosystems onto these.

export type Ordering = -1 | 0 | 1;

export interface VersionScheme<Parsed> {
  /** Short name shown by `stella versions ecosystems` (e.g. `semver`, `dpkg`). */
  readonly id: string;
  /** The ordering rule in one line, for the runbook and `stella versions ecosystems`. */
  readonly rule: string;
  /** Parses one version; throws VersionSyntaxError with the reason when the upstream tool would refuse it. */
  parse(text: string): Parsed;
  compare(a: Parsed, b: Parsed): Ordering;
}

/** A version the scheme cannot parse; index.ts turns it into the coded ERR_VERSION_UNPARSEABLE. */
export class VersionSyntaxError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'VersionSyntaxError';
  }
}

export function invalid(reason: string): never {
  throw new VersionSyntaxError(reason);
}

export function sign(n: number): Ordering {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

export function negate(order: Ordering): Ordering {
  return order === 0 ? 0 : order === 1 ? -1 : 1;
}

/** Byte-wise (UTF-16 code unit) string order, as C's strcmp and Java's String.compareTo give for ASCII. */
export function compareText(a: string, b: string): Ordering {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Strips leading zeros ("007" → "7", "000" → "0"), so digit runs of any length compare exactly. */
export function stripZeros(digits: string): string {
  let i = 0;
  while (i < digits.length - 1 && digits.charCodeAt(i) === 48) i++;
  return i === 0 ? digits : digits.slice(i);
}

/** Orders two runs of ASCII digits by value, without converting (no overflow at any length). */
export function compareDigits(a: string, b: string): Ordering {
  const x = stripZeros(a);
  const y = stripZeros(b);
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return compareText(x, y);
}

/** Refuses what no scheme accepts: empty strings, whitespace and control characters, absurd lengths. */
export function checkCommon(text: string, maxLength = 256): void {
  if (text.length === 0) invalid('the version is empty');
  if (text.length > maxLength) invalid(`the version is longer than ${maxLength} characters`);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) invalid(`it contains whitespace or a control character at position ${i + 1}`);
  }
}

export const isDigitCode = (c: number): boolean => c >= 48 && c <= 57;
export const isDigits = (s: string): boolean => /^[0-9]+$/.test(s);
