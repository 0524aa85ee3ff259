// SPDX-License-Identifier: Apache-2.0
// Alpine, Wolfi and Chainguard package versions (apk-tools src/version.c, the Gentoo-derived rule
// digit{.digit}…{letter}{_suffix{N}}…{~hash}{-rN}). Tokens compare in turn: the first number by
// value, later numbers by value unless one has a leading zero (then as text, so 1.05 < 1.5), a
// single letter, suffixes _alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p,
// their numbers, a commit hash as text, then the -rN revision. When one version runs out first it is
// the older one, unless the other continues with a pre-release suffix.
import { compareDigits, compareText, invalid, type Ordering, type VersionScheme } from './scheme.ts';

// The order of the token types is part of the rule: a version whose next token comes later is older.
const Token = {
  InitialDigit: 0,
  Digit: 1,
  Letter: 2,
  Suffix: 3,
  SuffixNumber: 4,
  CommitHash: 5,
  Revision: 6,
  End: 7,
} as const;
type Token = (typeof Token)[keyof typeof Token];

interface Part {
  readonly token: Token;
  readonly value: string;
  /** Rank of a suffix: alpha 1 … rc 4, none 5, cvs 6 … p 10. */
  readonly suffix: number;
}

const SUFFIX_RANK: Readonly<Record<string, number>> = {
  alpha: 1,
  beta: 2,
  pre: 3,
  rc: 4,
  cvs: 6,
  svn: 7,
  git: 8,
  hg: 9,
  p: 10,
};
const NO_SUFFIX = 5;

function run(text: string, from: number, re: RegExp): string {
  let end = from;
  while (end < text.length && re.test(text[end] ?? '')) end++;
  return text.slice(from, end);
}

/** Reads the token at `at` after a token of type `previous`; null where apk would call it invalid. */
function nextPart(text: string, at: number, previous: Token): { part: Part; next: number } | null {
  const c = text[at] ?? '';
  const make = (token: Token, value: string, next: number, suffix = 0) => ({ part: { token, value, suffix }, next });
  if (c >= 'a' && c <= 'z') return previous > Token.Digit ? null : make(Token.Letter, c, at + 1);
  if (c === '.') {
    if (previous > Token.Digit) return null;
    const digits = run(text, at + 1, /[0-9]/);
    return digits ? make(Token.Digit, digits, at + 1 + digits.length) : null;
  }
  if (c >= '0' && c <= '9') {
    if (previous !== Token.Suffix) return null;
    const digits = run(text, at, /[0-9]/);
    return make(Token.SuffixNumber, digits, at + digits.length);
  }
  if (c === '_') {
    if (previous > Token.SuffixNumber) return null;
    const name = run(text, at + 1, /[a-z]/);
    const rank = SUFFIX_RANK[name];
    return rank === undefined ? null : make(Token.Suffix, name, at + 1 + name.length, rank);
  }
  if (c === '~') {
    if (previous >= Token.CommitHash) return null;
    const hash = run(text, at + 1, /[0-9a-fA-F]/);
    return hash ? make(Token.CommitHash, hash, at + 1 + hash.length) : null;
  }
  if (c === '-') {
    if (previous >= Token.Revision || text[at + 1] !== 'r') return null;
    const digits = run(text, at + 2, /[0-9]/);
    return digits ? make(Token.Revision, digits, at + 2 + digits.length) : null;
  }
  return null;
}

export function parseApkVersion(text: string): readonly Part[] {
  const first = run(text, 0, /[0-9]/);
  if (!first) invalid('an apk version starts with a number');
  const parts: Part[] = [{ token: Token.InitialDigit, value: first, suffix: 0 }];
  let at = first.length;
  while (at < text.length) {
    const previous = parts[parts.length - 1]?.token ?? Token.InitialDigit;
    const read = nextPart(text, at, previous);
    if (!read)
      invalid(
        `not an apk version at "${text.slice(at)}" (digit{.digit}…{letter}{_alpha|_beta|_pre|_rc|_cvs|_svn|_git|_hg|_p{N}}…{~hash}{-rN})`,
      );
    parts.push(read.part);
    at = read.next;
  }
  return parts;
}

function comparePart(a: Part, b: Part): Ordering {
  switch (a.token) {
    case Token.Digit:
      // apk: "if either of the digits have a leading zero, use raw string comparison similar to Gentoo spec".
      if (a.value.startsWith('0') || b.value.startsWith('0')) return compareText(a.value, b.value);
      return compareDigits(a.value, b.value);
    case Token.InitialDigit:
    case Token.SuffixNumber:
    case Token.Revision:
      return compareDigits(a.value, b.value);
    case Token.Suffix:
      return a.suffix < b.suffix ? -1 : a.suffix > b.suffix ? 1 : 0;
    default:
      return compareText(a.value, b.value);
  }
}

const END: Part = { token: Token.End, value: '', suffix: 0 };

export const apkScheme: VersionScheme<readonly Part[]> = {
  id: 'apk',
  rule: 'apk-tools: numbers, a letter, _alpha<_beta<_pre<_rc<(none)<_cvs<_svn<_git<_hg<_p suffixes, ~hash, then -rN; leading-zero parts compare as text',
  parse: parseApkVersion,
  compare(a, b) {
    let i = 0;
    for (; ; i++) {
      const x = a[i] ?? END;
      const y = b[i] ?? END;
      if (x.token !== y.token || x.token === Token.End) break;
      const c = comparePart(x, y);
      if (c !== 0) return c;
    }
    const x = a[i] ?? END;
    const y = b[i] ?? END;
    if (x.token === y.token) return 0;
    if (x.token === Token.Suffix && x.suffix < NO_SUFFIX) return -1;
    if (y.token === Token.Suffix && y.suffix < NO_SUFFIX) return 1;
    return x.token > y.token ? -1 : 1;
  },
};
