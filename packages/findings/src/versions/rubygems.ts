// SPDX-License-Identifier: Apache-2.0
// RubyGems versions (Gem::Version): dot-separated segments, each a run of digits or of letters; a
// letter segment marks a prerelease and sorts below any number; `-` means `.pre.`; trailing zeros of
// the release part and of the prerelease part are dropped, missing segments count as 0, and letter
// segments compare byte-wise.
import { compareDigits, compareText, invalid, type Ordering, type VersionScheme } from './scheme.ts';

type Segment = { readonly numeric: true; readonly digits: string } | { readonly numeric: false; readonly text: string };
const ZERO: Segment = { numeric: true, digits: '0' };

// Gem::Version::VERSION_PATTERN, anchored.
const GEM_RE = /^[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

const isZero = (s: Segment) => s.numeric && /^0+$/.test(s.digits);

function dropTrailingZeros(segments: Segment[]): Segment[] {
  let end = segments.length;
  while (end > 0 && isZero(segments[end - 1] ?? ZERO)) end--;
  return segments.slice(0, end);
}

/** Gem::Version#canonical_segments: zeros dropped at the end of the release and of the prerelease part. */
function canonicalSegments(version: string): Segment[] {
  const segments: Segment[] = (version.match(/[0-9]+|[a-z]+/gi) ?? []).map((s) =>
    /^[0-9]/.test(s) ? { numeric: true, digits: s } : { numeric: false, text: s },
  );
  const firstText = segments.findIndex((s) => !s.numeric);
  if (firstText === -1) return dropTrailingZeros(segments);
  return [...dropTrailingZeros(segments.slice(0, firstText)), ...dropTrailingZeros(segments.slice(firstText))];
}

function compareSegment(a: Segment, b: Segment): Ordering {
  if (a.numeric && b.numeric) return compareDigits(a.digits, b.digits);
  if (!a.numeric && !b.numeric) return compareText(a.text, b.text);
  return a.numeric ? 1 : -1;
}

export const rubygemsScheme: VersionScheme<readonly Segment[]> = {
  id: 'gem-version',
  rule: 'Gem::Version: segments compared in turn (missing = 0), letter segments are prereleases below numbers, "-" means ".pre."',
  parse(text) {
    if (!GEM_RE.test(text))
      invalid(
        'malformed version number string (RubyGems wants digits, then .segments of letters or digits, e.g. 1.2.0.rc1)',
      );
    return canonicalSegments(text.replace(/-/g, '.pre.'));
  },
  compare(a, b) {
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const c = compareSegment(a[i] ?? ZERO, b[i] ?? ZERO);
      if (c !== 0) return c;
    }
    return 0;
  },
};
