// SPDX-License-Identifier: Apache-2.0
// NuGet versions (NuGet.Versioning NuGetVersion + VersionComparer.Default): two to four numeric parts
// (leading zeros allowed and ignored; missing parts are 0, so 1.0 = 1.0.0.0), a SemVer 2 prerelease
// whose labels compare numerically when both are numbers, numbers first, otherwise ordinal
// ignoring case; build metadata ignored.

import { compareDigits, invalid, type Ordering, type VersionScheme } from './scheme.ts';
import { compareIdentifiers } from './semver.ts';

export interface NuGetVersion {
  readonly parts: readonly [string, string, string, string];
  readonly prerelease: readonly string[];
}

const LABEL = '(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)';
const NUGET_RE = new RegExp(
  `^([0-9]+(?:\\.[0-9]+){1,3})(?:-(${LABEL}(?:\\.${LABEL})*))?(?:\\+[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?$`,
);

export const nugetScheme: VersionScheme<NuGetVersion> = {
  id: 'nuget',
  rule: 'NuGet: 2–4 numeric parts (missing = 0, leading zeros ignored), SemVer 2 prerelease compared case-insensitively; build metadata ignored',
  parse(text) {
    const m = NUGET_RE.exec(text);
    if (!m)
      invalid(
        'not a NuGet version: 2 to 4 dot-separated numbers, then an optional -prerelease ([0-9A-Za-z-] labels, numeric ones without leading zeros) and +metadata',
      );
    const numbers = (m[1] ?? '').split('.');
    const parts: [string, string, string, string] = [
      numbers[0] ?? '0',
      numbers[1] ?? '0',
      numbers[2] ?? '0',
      numbers[3] ?? '0',
    ];
    return { parts, prerelease: m[2] === undefined ? [] : m[2].split('.') };
  },
  compare(a, b): Ordering {
    for (let i = 0; i < 4; i++) {
      const c = compareDigits(a.parts[i] ?? '0', b.parts[i] ?? '0');
      if (c !== 0) return c;
    }
    if (a.prerelease.length === 0 || b.prerelease.length === 0) {
      if (a.prerelease.length === b.prerelease.length) return 0;
      return a.prerelease.length === 0 ? 1 : -1;
    }
    return compareIdentifiers(a.prerelease, b.prerelease, (label) => label.toLowerCase());
  },
};
