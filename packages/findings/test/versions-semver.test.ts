// SPDX-License-Identifier: Apache-2.0
// SemVer-family comparators (npm, crates.io, Go, NuGet, Pub) against their upstreams' own test vectors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import semver from 'semver';
import { compareVersions } from '../src/index.ts';
import { assertAscending, assertEqualAll, assertPairs, assertRefused } from './vectors/check.ts';

// semver/semver semver.md §11 (the specification's own precedence example).
const SPEC_PRECEDENCE = [
  '1.0.0-alpha',
  '1.0.0-alpha.1',
  '1.0.0-alpha.beta',
  '1.0.0-beta',
  '1.0.0-beta.2',
  '1.0.0-beta.11',
  '1.0.0-rc.1',
  '1.0.0',
  '2.0.0',
  '2.1.0',
  '2.1.1',
];

// npm/node-semver test/fixtures/comparisons.js: [greater, smaller]. The entries node-semver only
// accepts in loose mode differ from these by a leading "v", which its strict mode accepts too.
const NODE_SEMVER_COMPARISONS: [string, string][] = [
  ['0.0.0', '0.0.0-foo'],
  ['0.0.1', '0.0.0'],
  ['1.0.0', '0.9.9'],
  ['0.10.0', '0.9.0'],
  ['0.99.0', '0.10.0'],
  ['2.0.0', '1.2.3'],
  ['v0.0.0', '0.0.0-foo'],
  ['v0.0.1', '0.0.0'],
  ['v1.0.0', '0.9.9'],
  ['v0.10.0', '0.9.0'],
  ['v0.99.0', '0.10.0'],
  ['v2.0.0', '1.2.3'],
  ['0.0.0', 'v0.0.0-foo'],
  ['0.0.1', 'v0.0.0'],
  ['1.0.0', 'v0.9.9'],
  ['0.10.0', 'v0.9.0'],
  ['0.99.0', 'v0.10.0'],
  ['2.0.0', 'v1.2.3'],
  ['1.2.3', '1.2.3-asdf'],
  ['1.2.3', '1.2.3-4'],
  ['1.2.3', '1.2.3-4-foo'],
  ['1.2.3-5-foo', '1.2.3-5'],
  ['1.2.3-5', '1.2.3-4'],
  ['1.2.3-5-foo', '1.2.3-5-Foo'],
  ['3.0.0', '2.7.2+asdf'],
  ['1.2.3-a.10', '1.2.3-a.5'],
  ['1.2.3-a.b', '1.2.3-a.5'],
  ['1.2.3-a.b', '1.2.3-a'],
  ['1.2.3-a.b.c.10.d.5', '1.2.3-a.b.c.5.d.100'],
  ['1.2.3-r2', '1.2.3-r100'],
  ['1.2.3-r100', '1.2.3-R2'],
];

describe('npm and crates.io (SemVer 2.0.0)', () => {
  test(`semver.org §11 precedence (${SPEC_PRECEDENCE.length} versions, every pair)`, () => {
    assertAscending('npm', SPEC_PRECEDENCE);
    assertAscending('crates.io', SPEC_PRECEDENCE);
  });

  test(`node-semver test/fixtures/comparisons.js (${NODE_SEMVER_COMPARISONS.length} pairs)`, () => {
    assertPairs(
      'npm',
      NODE_SEMVER_COMPARISONS.map(([greater, smaller]) => [greater, '>', smaller] as const),
    );
  });

  test('build metadata does not take part in precedence (semver.org §10)', () => {
    assertEqualAll('npm', ['1.0.0', '1.0.0+build.1', '1.0.0+0.3.7']);
    assertEqualAll('crates.io', ['1.0.0-alpha+001', '1.0.0-alpha+exp.sha.5114f85']);
  });

  test('refused: not three parts, leading zeros, empty identifiers, a "v" for crates.io', () => {
    const bad = [
      '1.2',
      '1',
      '01.2.3',
      '1.02.3',
      '1.2.3-01',
      '1.2.3-',
      '1.2.3+',
      '1.2.3-a..b',
      'a.b.c',
      '1.2.3.4',
      '',
      ' 1.2.3',
    ];
    assertRefused('npm', bad);
    assertRefused('crates.io', [...bad, 'v1.2.3']);
  });

  test('agrees with node-semver on generated versions (differential)', () => {
    const id = fc.oneof(fc.nat({ max: 30 }).map(String), fc.constantFrom('alpha', 'beta', 'rc', 'x-1', 'A', 'a1'));
    const version = fc
      .tuple(fc.nat(12), fc.nat(12), fc.nat(12), fc.array(id, { maxLength: 3 }))
      .map(([a, b, c, pre]) => `${a}.${b}.${c}${pre.length ? `-${pre.join('.')}` : ''}`);
    fc.assert(
      fc.property(version, version, (a, b) => {
        assert.equal(compareVersions('npm', a, b), semver.compare(a, b));
      }),
      { numRuns: 2000 },
    );
  });
});

// golang/mod semver/semver_test.go `tests`, in order; entries that are not canonical module versions
// (v1, v1.2 shorthands, +meta other than +incompatible) are refused by the Go scheme, as
// golang.org/x/mod/module.CheckVersion refuses them, and are checked below instead.
const GO_SEMVER_ORDER: string[][] = [
  ['v1.0.0-alpha'],
  ['v1.0.0-alpha.1'],
  ['v1.0.0-alpha.beta'],
  ['v1.0.0-beta'],
  ['v1.0.0-beta.2'],
  ['v1.0.0-beta.11'],
  ['v1.0.0-rc.1'],
  ['v1.0.0'],
  ['v1.2.0'],
  ['v1.2.3-456'],
  ['v1.2.3-456.789'],
  ['v1.2.3-456-789'],
  ['v1.2.3-456a'],
  ['v1.2.3-pre'],
  ['v1.2.3-pre.1'],
  ['v1.2.3-zzz'],
  ['v1.2.3', '1.2.3'],
];
const GO_REFUSED = [
  'bad',
  'v1-alpha.beta.gamma',
  'v1-pre',
  'v1+meta',
  'v1-pre+meta',
  'v1.2-pre',
  'v1.2+meta',
  'v1.2-pre+meta',
];
const GO_NOT_MODULE_VERSIONS = ['v1', 'v1.0', 'v1.2', 'v1.2.3+meta', 'v1.2.3-pre+meta', 'v1.2.3+meta-pre.sha.256a'];

// Pseudo-versions as go.dev/ref/mod "Pseudo-versions" defines their three forms: each sorts after the
// release it was derived from and before the next release.
const GO_PSEUDO = [
  'v0.0.0-20191109021931-daa7c04131f5',
  'v0.0.0-20200109021931-daa7c04131f5',
  'v1.2.3',
  'v1.2.4-0.20191109021931-daa7c04131f5',
  'v1.2.4-0.20201109021931-aaaaaaaaaaaa',
  'v1.2.4',
  'v1.3.0-pre',
  'v1.3.0-pre.0.20191109021931-daa7c04131f5',
  'v1.3.0',
];

describe('Go module versions', () => {
  test(`golang/mod semver/semver_test.go order (${GO_SEMVER_ORDER.length} groups)`, () => {
    for (let i = 0; i < GO_SEMVER_ORDER.length; i++) {
      assertEqualAll('Go', GO_SEMVER_ORDER[i] ?? []);
      for (let j = i + 1; j < GO_SEMVER_ORDER.length; j++)
        assertPairs('Go', [[GO_SEMVER_ORDER[i]?.[0] ?? '', '<', GO_SEMVER_ORDER[j]?.[0] ?? '']]);
    }
    assertPairs('Go', [['v1.19.0', '>', 'v1.2.0']]);
  });

  test('pseudo-versions sort as SemVer prereleases between the releases around them', () => {
    assertAscending('Go', GO_PSEUDO);
  });

  test('+incompatible is accepted and ignored; OSV-style versions without "v" compare the same', () => {
    assertEqualAll('Go', ['v2.0.0+incompatible', '2.0.0+incompatible', 'v2.0.0', '2.0.0']);
    assertPairs('Go', [
      ['1.16.0-0', '<', '1.16.0'],
      ['1.15.13', '<', '1.16.0-0'],
    ]);
  });

  test('refused: invalid semver and non-canonical module versions', () => {
    assertRefused('Go', [...GO_REFUSED, ...GO_NOT_MODULE_VERSIONS]);
  });
});

// NuGet/NuGet.Client test/NuGet.Core.Tests/NuGet.Versioning.Test/VersionComparerTests.cs (its
// VersionComparisonDefaultNotEqual theory compares the strings, not the versions, so it is not used).
const NUGET_EQUAL: [string, string][] = [
  ['1.0.0', '1.0.0'],
  ['1.0.0-BETA', '1.0.0-beta'],
  ['1.0.0-BETA+AA', '1.0.0-beta+aa'],
  ['1.0.0-BETA.X.y.5.77.0+AA', '1.0.0-beta.x.y.5.77.0+aa'],
  ['1.0.0', '1.0.0+beta'],
  ['1.0', '1.0.0.0'],
  ['1.0+test', '1.0.0.0'],
  ['1.0.0.1-1.2.A', '1.0.0.1-1.2.a+A'],
  ['1.0.01', '1.0.1.0'],
];
const NUGET_NOT_EQUAL: [string, string][] = [
  ['1.0', '1.0.0.1'],
  ['1.0+test', '1.0.0.1'],
  ['1.0.0.1-1.2.A', '1.0.0.1-1.2.a.A+A'],
  ['1.0.01', '1.0.1.2'],
];
const NUGET_LESS: [string, string][] = [
  ['0.0.0', '1.0.0'],
  ['1.0.0', '1.1.0'],
  ['1.0.0', '1.0.1'],
  ['1.999.9999', '2.1.1'],
  ['1.0.0-BETA', '1.0.0-beta2'],
  ['1.0.0-beta+AA', '1.0.0+aa'],
  ['1.0.0-BETA', '1.0.0-beta.1+AA'],
  ['1.0.0-BETA.X.y.5.77.0+AA', '1.0.0-beta.x.y.5.79.0+aa'],
  ['1.0.0-BETA.X.y.5.79.0+AA', '1.0.0-beta.x.y.5.790.0+abc'],
];

describe('NuGet', () => {
  test(`VersionComparerTests.cs (${NUGET_EQUAL.length} equal, ${NUGET_NOT_EQUAL.length} not equal, ${NUGET_LESS.length} less)`, () => {
    assertPairs(
      'NuGet',
      NUGET_EQUAL.map(([a, b]) => [a, '=', b] as const),
    );
    for (const [a, b] of NUGET_NOT_EQUAL) assert.notEqual(compareVersions('NuGet', a, b), 0, `${a} != ${b}`);
    assertPairs(
      'NuGet',
      NUGET_LESS.map(([a, b]) => [a, '<', b] as const),
    );
  });

  test('refused: one part, five parts, leading-zero prerelease numbers, junk', () => {
    assertRefused('NuGet', ['1', '1.2.3.4.5', '1.0.0-01', '1.0.0-', 'a.b', '1.0.0-beta_1']);
  });
});

// dart-lang/pub_semver test/version_test.dart: 'comparison' (a sorted list), 'equality', 'parse()'.
const PUB_ORDER = [
  '1.0.0-alpha',
  '1.0.0-alpha.1',
  '1.0.0-beta.2',
  '1.0.0-beta.11',
  '1.0.0-rc.1',
  '1.0.0-rc.1+build.1',
  '1.0.0',
  '1.0.0+0.3.7',
  '1.3.7+build',
  '1.3.7+build.2.b8f12d7',
  '1.3.7+build.11.e0f985a',
  '2.0.0',
  '2.1.0',
  '2.2.0',
  '2.11.0',
  '2.11.1',
];
const PUB_EQUAL: [string, string][] = [
  ['01.2.3', '1.2.3'],
  ['1.02.3', '1.2.3'],
  ['1.2.03', '1.2.3'],
  ['1.2.3-01', '1.2.3-1'],
  ['1.2.3+01', '1.2.3+1'],
];

describe('Pub', () => {
  test(`pub_semver version_test.dart comparison (${PUB_ORDER.length} versions) and equality (${PUB_EQUAL.length})`, () => {
    assertAscending('Pub', PUB_ORDER);
    assertPairs(
      'Pub',
      PUB_EQUAL.map(([a, b]) => [a, '=', b] as const),
    );
    assertPairs('Pub', [
      ['1.0.0', '<', '1.0.0+build'],
      ['1.0.0-rc-1+build-1', '<', '1.0.0'],
    ]);
  });

  test('refused: the parse() failures of version_test.dart', () => {
    assertRefused('Pub', ['1.0', '1.2.3.4', '1234', '-2.3.4', '1.3-pre', '1.3+build', '1.3+bu?!3ild']);
  });
});
