// SPDX-License-Identifier: Apache-2.0
// Dart pub versions (package:pub_semver Version.compareTo): MAJOR.MINOR.PATCH (leading zeros allowed,
// compared by value), a prerelease below the release, then — unlike SemVer — build metadata takes
// part: no build sorts below any build, and build identifiers compare like prerelease ones.

import { invalid, type Ordering, type VersionScheme } from './scheme.ts';
import { compareCore, compareIdentifiers, type SemVer } from './semver.ts';

/** The same parts as SemVer; only the parsing (leading zeros) and the order of builds differ. */
export type PubVersion = SemVer;

const IDS = '[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*';
const PUB_RE = new RegExp(`^([0-9]+)\\.([0-9]+)\\.([0-9]+)(?:-(${IDS}))?(?:\\+(${IDS}))?$`);

/** pub_semver parses every all-digit part as an integer: 01 and 1 are the same identifier. */
function presence(a: readonly string[], b: readonly string[], emptyFirst: boolean): Ordering {
  if (a.length === 0 && b.length === 0) return 0;
  if (a.length > 0 && b.length > 0) return compareIdentifiers(a, b);
  const aEmpty = a.length === 0;
  return aEmpty === emptyFirst ? -1 : 1;
}

export const pubScheme: VersionScheme<PubVersion> = {
  id: 'pub',
  rule: 'Dart pub: SemVer-like, prerelease before release, and build metadata sorts after the plain version (compared like prerelease)',
  parse(text) {
    const m = PUB_RE.exec(text);
    if (!m)
      invalid('not a pub version: MAJOR.MINOR.PATCH, then optional -prerelease and +build ([0-9A-Za-z-] identifiers)');
    return {
      major: m[1] ?? '0',
      minor: m[2] ?? '0',
      patch: m[3] ?? '0',
      prerelease: m[4] === undefined ? [] : m[4].split('.'),
      build: m[5] === undefined ? [] : m[5].split('.'),
    };
  },
  compare(a, b) {
    return (
      compareCore(a, b) ||
      // Prereleases always come before no prerelease; builds always come after no build.
      presence(a.prerelease, b.prerelease, false) ||
      presence(a.build, b.build, true)
    );
  },
};
