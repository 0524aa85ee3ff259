// SPDX-License-Identifier: Apache-2.0
// Hackage versions (the Haskell Package Versioning Policy; Cabal's Distribution.Types.Version): one
// or more dot-separated non-negative integers without leading zeros, at most nine digits each,
// compared as lists, so a prefix sorts first (1.2 < 1.2.0). Version tags (1.2-rc1) are deprecated
// and refused by Hackage; they are refused here.
import { compareDigits, invalid, type Ordering, type VersionScheme } from './scheme.ts';

export function compareNumberLists(a: readonly string[], b: readonly string[]): Ordering {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareDigits(a[i] ?? '0', b[i] ?? '0');
    if (c !== 0) return c;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

export const hackageScheme: VersionScheme<readonly string[]> = {
  id: 'pvp',
  rule: 'PVP: dot-separated integers compared as a list, a prefix sorts first (1.2 < 1.2.0)',
  parse(text) {
    const parts = text.split('.');
    for (const part of parts) {
      if (!/^[0-9]+$/.test(part))
        invalid('a Hackage version is dot-separated numbers (tags such as -rc1 are not allowed)');
      if (part.length > 1 && part.startsWith('0')) invalid(`version digit with leading zero: ${part}`);
      if (part.length > 9) invalid('at most 9 digits are allowed per version number part');
    }
    return parts;
  },
  compare: compareNumberLists,
};
