// SPDX-License-Identifier: Apache-2.0
// Language ecosystems with their own schemes (PyPI, Maven, RubyGems, Packagist, Hackage, CRAN)
// against their upstreams' own test vectors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { normalizeComposerVersion } from '../src/versions/packagist.ts';
import { assertAscending, assertEqualAll, assertPairs, assertRefused } from './vectors/check.ts';

// pypa/packaging tests/test_version.py VERSIONS ("This list must be in the correct sorting order").
const PEP440_PUBLIC = [
  '1.0.dev0',
  '1.0.dev456',
  '1.0.dev456+local',
  '1.0a0',
  '1.0a0.post0.dev0',
  '1.0a0.post0',
  '1.0a1.dev1',
  '1.0a1.dev1+local',
  '1.0a1',
  '1.0a1+local',
  '1.0b0',
  '1.0b1.dev456',
  '1.0b2',
  '1.0b2.post345.dev456',
  '1.0b2.post345',
  '1.0b2-346',
  '1.0rc0',
  '1.0rc1.dev1',
  '1.0c1',
  '1.0rc2',
  '1.0',
  '1.0.post0.dev0',
  '1.0.post0',
  '1.0.post456.dev34',
  '1.0.post456',
  '1.0.post456+local',
  '1.0.1.dev1',
  '1.0.1a1',
  '1.0.1',
  '1.0.1+local',
  '1.0.1.post1',
  '1.1.dev1',
  '1.2+a',
  '1.2+abc',
  '1.2+abcdef',
  '1.2+def',
  '1.2+0',
  '1.2+1',
  '1.2+1.abc',
  '1.2+1.1',
  '1.2+1.1.0',
  '1.2+2',
  '1.2+123',
  '1.2+123456',
  '1.2.r32+123456',
  '1.2.rev33+123456',
];
const PEP440_VERSIONS = [...PEP440_PUBLIC, ...PEP440_PUBLIC.map((v) => `1!${v}`)];
// test_normalized_versions (each pair is equal) and test_invalid_versions.
const PEP440_NORMALIZED: [string, string][] = [
  ['1.0dev', '1.0.dev0'],
  ['1.0.dev', '1.0.dev0'],
  ['1.0dev1', '1.0.dev1'],
  ['1.0-dev', '1.0.dev0'],
  ['1.0-dev1', '1.0.dev1'],
  ['1.0DEV', '1.0.dev0'],
  ['1.0.DEV1', '1.0.dev1'],
  ['1.0a', '1.0a0'],
  ['1.0.a1', '1.0a1'],
  ['1.0-alpha1', '1.0a1'],
  ['1.0ALPHA', '1.0a0'],
  ['1.0b', '1.0b0'],
  ['1.0-beta1', '1.0b1'],
  ['1.0BETA', '1.0b0'],
  ['1.0c', '1.0rc0'],
  ['1.0.c1', '1.0rc1'],
  ['1.0-rc', '1.0rc0'],
  ['1.0RC1', '1.0rc1'],
  ['1.0post', '1.0.post0'],
  ['1.0-post1', '1.0.post1'],
  ['1.0r', '1.0.post0'],
  ['1.0rev', '1.0.post0'],
  ['1.0.r1', '1.0.post1'],
  ['1.0-5', '1.0.post5'],
  ['1.0-r5', '1.0.post5'],
  ['1.0-rev5', '1.0.post5'],
  ['1.0+AbC', '1.0+abc'],
  ['1.01', '1.1'],
  ['1.0a05', '1.0a5'],
  ['1.0b07', '1.0b7'],
  ['1.0c056', '1.0rc56'],
  ['1.0rc09', '1.0rc9'],
  ['1.0.post000', '1.0.post0'],
  ['1.1.dev09000', '1.1.dev9000'],
  ['00!1.2', '1.2'],
  ['0100!0.0', '100!0.0'],
  ['v1.0', '1.0'],
  ['1.0rc1', '1.0c1'],
];
const PEP440_INVALID = [
  'french',
  'toast',
  '1.0+a+',
  '1.0++',
  '1.0+_foobar',
  '1.0+foo&asd',
  '1.0+1+1',
  '٠١٢.٣٤٥.٦٧٨٩',
  '.',
  '..',
  '1..0',
  '1.0.',
  '.1.0',
  '1..2.3',
  '1.0+\u0130',
];

describe('PyPI (PEP 440)', () => {
  test(`pypa/packaging test_version.py VERSIONS (${PEP440_VERSIONS.length}, every pair)`, () => {
    assertAscending('PyPI', PEP440_VERSIONS);
  });
  test(`normalized forms are equal (${PEP440_NORMALIZED.length}) and invalid versions refused (${PEP440_INVALID.length})`, () => {
    assertPairs(
      'pypi',
      PEP440_NORMALIZED.map(([a, b]) => [a, '=', b] as const),
    );
    assertRefused('PyPI', PEP440_INVALID);
  });
});

// apache/maven compat/maven-artifact/src/test/java/org/apache/maven/artifact/versioning/ComparableVersionTest.java
const MAVEN_QUALIFIER = [
  '1-alpha2snapshot',
  '1-alpha2',
  '1-alpha-123',
  '1-beta-2',
  '1-beta123',
  '1-m2',
  '1-m11',
  '1-rc',
  '1-cr2',
  '1-rc123',
  '1-SNAPSHOT',
  '1',
  '1-sp',
  '1-sp2',
  '1-sp123',
  '1-abc',
  '1-def',
  '1-pom-1',
  '1-1-snapshot',
  '1-1',
  '1-2',
  '1-123',
];
const MAVEN_NUMBER = [
  '2.0',
  '2.0.a',
  '2-1',
  '2.0.2',
  '2.0.123',
  '2.1.0',
  '2.1-a',
  '2.1b',
  '2.1-c',
  '2.1-1',
  '2.1.0.1',
  '2.2',
  '2.123',
  '11.a2',
  '11.a11',
  '11.b2',
  '11.b11',
  '11.m2',
  '11.m11',
  '11',
  '11.a',
  '11b',
  '11c',
  '11m',
];
const MAVEN_EQUAL: [string, string][] = [
  ['1', '1'],
  ['1', '1.0'],
  ['1', '1.0.0'],
  ['1.0', '1.0.0'],
  ['1', '1-0'],
  ['1', '1.0-0'],
  ['1.0', '1.0-0'],
  ['1a', '1-a'],
  ['1a', '1.0-a'],
  ['1a', '1.0.0-a'],
  ['1.0a', '1-a'],
  ['1.0.0a', '1-a'],
  ['1x', '1-x'],
  ['1x', '1.0-x'],
  ['1x', '1.0.0-x'],
  ['1.0x', '1-x'],
  ['1.0.0x', '1-x'],
  ['1cr', '1rc'],
  ['1a1', '1-alpha-1'],
  ['1b2', '1-beta-2'],
  ['1m3', '1-milestone-3'],
  ['1X', '1x'],
  ['1A', '1a'],
  ['1B', '1b'],
  ['1M', '1m'],
  ['1Cr', '1Rc'],
  ['1cR', '1rC'],
  ['1m3', '1Milestone3'],
  ['1m3', '1MileStone3'],
  ['1m3', '1MILESTONE3'],
  // testVersionsHaveSameOrderButAreNotEqual
  ['1ga', '1'],
  ['1release', '1'],
  ['1final', '1'],
  ['1Ga', '1'],
  ['1GA', '1'],
  ['1RELEASE', '1'],
  ['1RELeaSE', '1'],
  ['1Final', '1'],
  ['1FinaL', '1'],
  ['1FINAL', '1'],
  // testLexicographicASCIISortOrder, testCompareLowerCaseToUpperCase*, testLocaleIndependent
  ['1.0.0-alpha1', '1.0.0-ALPHA1'],
  ['1.a', '1.A'],
  ['1.é', '1.É'],
  ['1-abcdefghijklmnopqrstuvwxyz', '1-ABCDEFGHIJKLMNOPQRSTUVWXYZ'],
];
const MAVEN_LESS: [string, string][] = [
  ['1', '2'],
  ['1.5', '2'],
  ['1', '2.5'],
  ['1.0', '1.1'],
  ['1.1', '1.2'],
  ['1.0.0', '1.1'],
  ['1.0.1', '1.1'],
  ['1.1', '1.2.0'],
  ['1.0-alpha-1', '1.0'],
  ['1.0-alpha-1', '1.0-alpha-2'],
  ['1.0-alpha-1', '1.0-beta-1'],
  ['1.0-beta-1', '1.0-SNAPSHOT'],
  ['1.0-SNAPSHOT', '1.0'],
  ['1.0-alpha-1-SNAPSHOT', '1.0-alpha-1'],
  ['1.0', '1.0-1'],
  ['1.0-1', '1.0-2'],
  ['1.0.0', '1.0-1'],
  ['2.0-1', '2.0.1'],
  ['2.0.1-klm', '2.0.1-lmn'],
  ['2.0.1', '2.0.1-xyz'],
  ['2.0.1', '2.0.1-123'],
  ['2.0.1-xyz', '2.0.1-123'],
  // testLeadingZeroes, testDigitGreaterThanNonAscii, testCompareDigitToLetter, testNonAsciiDigits, testLexicographicOrder
  ['0.7', '2'],
  ['0.2', '1.0.7'],
  ['é', '1'],
  ['\uD835\uDFE4', '1'],
  ['J', '7'],
  ['c', '7'],
  ['\u0668', '1'],
  ['\u0668', '9'],
  ['aardvark', 'zebra'],
  ['zebra', 'ζέβρα'],
  // MNG-5568, MNG-6572, MNG-6964, MNG-7714
  ['6.1.0rc3', '6.1.0'],
  ['6.1.0rc3', '6.1H.5-beta'],
  ['6.1.0', '6.1H.5-beta'],
  ['20190126.230843', '1234567890.12345'],
  ['1234567890.12345', '123456789012345.1H.5-beta'],
  ['123456789012345.1H.5-beta', '12345678901234567890.1H.5-beta'],
  ['1-0.alpha', '1'],
  ['1-0.beta', '1'],
  ['1-0.alpha', '1-0.beta'],
  ['1.0.final-redhat', '1.0-sp1-redhat'],
  ['1.0.final-redhat', '1.0-sp-1-redhat'],
  ['1.0.final-redhat', '1.0-sp.1-redhat'],
];
const MNG_7644 = ['abc', 'alpha', 'a', 'beta', 'b', 'def', 'milestone', 'm', 'RC'];

describe('Maven (ComparableVersion)', () => {
  test(`ComparableVersionTest VERSIONS_QUALIFIER (${MAVEN_QUALIFIER.length}) and VERSIONS_NUMBER (${MAVEN_NUMBER.length})`, () => {
    assertAscending('Maven', MAVEN_QUALIFIER);
    assertAscending('Maven', MAVEN_NUMBER);
  });
  test(`equalities (${MAVEN_EQUAL.length}), orderings (${MAVEN_LESS.length}), MNG-7644 (${MNG_7644.length * 4})`, () => {
    assertPairs(
      'Maven',
      MAVEN_EQUAL.map(([a, b]) => [a, '=', b] as const),
    );
    assertPairs(
      'Maven',
      MAVEN_LESS.map(([a, b]) => [a, '<', b] as const),
    );
    for (const x of MNG_7644) {
      assertPairs('Maven', [[`1.0.0.${x}1`, '<', `1.0.0-${x}2`]]);
      assertEqualAll('Maven', [`2-${x}`, `2.0.${x}`, `2.0.0.${x}`]);
    }
    const ones = Array.from({ length: 19 }, (_, i) => `${'0'.repeat(i)}1`);
    const zeros = Array.from({ length: 19 }, (_, i) => '0'.repeat(i + 1));
    assertEqualAll('Maven', ones);
    assertEqualAll('Maven', zeros);
  });
  test('refused: only what no Maven repository holds (empty, whitespace, over 256 characters)', () => {
    assertRefused('Maven', ['', '1.0 beta', `1.${'0'.repeat(300)}`]);
  });
});

// rubygems/rubygems test/rubygems/test_gem_version.rb (test_spaceship, test_semver, test_equals2,
// test_eql_eh, test_frozen_version, test_initialize_invalid).
describe('RubyGems (Gem::Version)', () => {
  test('test_gem_version.rb comparisons', () => {
    assertPairs('RubyGems', [
      ['1.0', '=', '1.0.0'],
      ['1.0', '>', '1.0.a'],
      ['1.8.2', '>', '0.0.0'],
      ['1.8.2', '>', '1.8.2.a'],
      ['1.8.2.b', '>', '1.8.2.a'],
      ['1.8.2.a', '<', '1.8.2'],
      ['1.8.2.a10', '>', '1.8.2.a9'],
      ['0.beta.1', '=', '0.0.beta.1'],
      ['0.0.beta', '<', '0.0.beta.1'],
      ['0.0.beta', '<', '0.beta.1'],
      ['5.a', '<', '5.0.0.rc2'],
      ['5.x', '>', '5.0.0.rc2'],
      ['1.2', '=', '1.2'],
      ['1.2', '<', '1.3'],
      ['1.2.b1', '=', '1.2.b.1'],
      ['1.2', '=', '1.2.0'],
      ['1.2.pre.1', '=', '1.2.0.pre.1.0'],
      ['1.freeze.test', '<', '1'],
    ]);
    assertAscending('gem', ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0']);
    assertPairs('RubyGems', [
      ['1.0.0-rc1', '<', '1.0.0'],
      ['1.0.0-1', '<', '1'],
    ]);
  });
  test('refused: test_initialize_invalid and the CVE-2013-4287 string', () => {
    assertRefused('RubyGems', [
      'junk',
      '1.0\n2.0',
      '1..2',
      '1.2 3.4',
      '2.3422222.222.222222222.22222.ads0as.dasd0.ddd2222.2.qd3e.',
      '',
      '1.0.',
    ]);
  });
});

// composer/semver tests/VersionParserTest.php successfulNormalizedVersions / failingNormalizedVersions
// and tests/ComparatorTest.php compareProvider.
const COMPOSER_NORMALIZED: [string, string][] = [
  ['1.0.0', '1.0.0.0'],
  ['1.2.3.4', '1.2.3.4'],
  ['1.0.0RC1dev', '1.0.0.0-RC1-dev'],
  ['1.0.0-rC15-dev', '1.0.0.0-RC15-dev'],
  ['1.0.0.RC.15-dev', '1.0.0.0-RC15-dev'],
  ['1.0.0-rc1', '1.0.0.0-RC1'],
  ['1.0.0.pl3-dev', '1.0.0.0-patch3-dev'],
  ['1.0-dev', '1.0.0.0-dev'],
  ['0', '0.0.0.0'],
  ['10.4.13-beta', '10.4.13.0-beta'],
  ['10.4.13beta2', '10.4.13.0-beta2'],
  ['10.4.13beta.2', '10.4.13.0-beta2'],
  ['v1.13.11-beta.0', '1.13.11.0-beta0'],
  ['1.13.11.0-beta0', '1.13.11.0-beta0'],
  ['10.4.13-b', '10.4.13.0-beta'],
  ['10.4.13-b5', '10.4.13.0-beta5'],
  ['v1.0.0', '1.0.0.0'],
  ['2010.01', '2010.01.0.0'],
  ['2010.01.02', '2010.01.02.0'],
  ['2010.1.555', '2010.1.555.0'],
  ['2010.10.200', '2010.10.200.0'],
  ['20230131.0.0', '20230131.0.0'],
  ['202301310000.0.0', '202301310000.0.0'],
  ['v20100102', '20100102'],
  ['20100102', '20100102'],
  ['20100102.0', '20100102.0'],
  ['20100102.1.0', '20100102.1.0'],
  ['20100102.0.3', '20100102.0.3'],
  ['2010-01-02-10-20-30.0.3', '2010.01.02.10.20.30.0.3'],
  ['2010-01-02-10-20-30.5', '2010.01.02.10.20.30.5'],
  ['2010-01-02', '2010.01.02'],
  ['2012.06.07', '2012.06.07.0'],
  ['2010-01-02.5', '2010.01.02.5'],
  ['20100102-203040', '20100102.203040'],
  ['20100102203040-10', '20100102203040.10'],
  ['20100102-203040-p1', '20100102.203040-patch1'],
  ['201903.0', '201903.0'],
  ['201903.0-p2', '201903.0-patch2'],
  ['1.0.0+foo@dev', '1.0.0.0'],
  ['1.0.0-beta.5+foo', '1.0.0.0-beta5'],
  ['1.0.0+foo', '1.0.0.0'],
  ['1.0.0-alpha.3.1+foo', '1.0.0.0-alpha3.1'],
  ['1.0.0-alpha2.1+foo', '1.0.0.0-alpha2.1'],
  ['1.0.0-alpha-2.1-3+foo', '1.0.0.0-alpha2.1-3'],
  ['00.01.03.04', '00.01.03.04'],
  ['000.001.003.004', '000.001.003.004'],
  ['0.000.103.204', '0.000.103.204'],
  ['0700', '0700.0.0.0'],
];
const COMPOSER_REFUSED = [
  '',
  'a',
  '1.0.0-meh',
  '1.0.0.0.0',
  'feature-foo',
  '1.0.1-SNAPSHOT',
  '1.0.0<1.0.5-dev',
  '1.0.0-dev<1.0.5-dev',
  '^',
  '~',
  '~1',
  '^1',
  '1.*',
  '20100102.0.3.4',
  // branches: normalisable by Composer, but they have no release order
  'dev-master',
  'master',
  'dev-feature-foo',
  '1.x-dev',
  '20100102.x-dev',
  '041.x-dev',
];

describe('Packagist (Composer)', () => {
  test(`VersionParserTest normalize (${COMPOSER_NORMALIZED.length}) and refusals (${COMPOSER_REFUSED.length})`, () => {
    for (const [input, expected] of COMPOSER_NORMALIZED) assert.equal(normalizeComposerVersion(input), expected, input);
    // Spellings that normalise to the same string compare equal.
    assertEqualAll('Packagist', ['1.0.0-rc1', 'v1.0.0RC1', '1.0.0.0-RC1', '1.0-rc.1']);
    assertEqualAll('Packagist', ['1.0.0.pl3-dev', '1.0.0-patch3-dev', '1.0.0p3dev']);
    assertRefused('Packagist', COMPOSER_REFUSED);
  });
  test('ComparatorTest compareProvider and the stability order dev < alpha < beta < RC < stable < patch', () => {
    assertPairs('composer', [
      ['1.25.0', '>', '1.24.0'],
      ['1.25.0', '=', '1.25.0'],
      ['1.25.0', '<', '1.26.0'],
      ['1.0.0', '<', '1.2-dev'],
      ['1.25.0-beta2.1', '<', '1.25.0-b.3'],
      ['1.25.0-b2.1', '<', '1.25.0beta.3'],
      ['1.25.0-b-2.1', '<', '1.25.0-rc'],
      ['1.25.0-beta2.1', '=', '1.25.0-b.2.1'],
      ['1.25.0beta2.1', '=', '1.25.0-b2.1'],
    ]);
    assertAscending('Packagist', [
      '1.0.0-dev',
      '1.0.0-alpha1',
      '1.0.0-beta2',
      '1.0.0-RC1',
      '1.0.0',
      '1.0.0-p1',
      '1.0.1',
    ]);
  });
});

describe('Hackage (PVP) and CRAN (R package_version)', () => {
  // haskell/cabal Distribution.Types.Version: lists compared in turn, a prefix first; versionDigitParser
  // refuses leading zeros and parts longer than nine digits.
  test('Hackage: list order, and refusals', () => {
    assertAscending('Hackage', ['0', '0.1', '1', '1.0', '1.0.0', '1.2', '1.2.0', '1.2.0.1', '1.10', '2']);
    assertRefused('Hackage', ['01', '1.02', '1.1234567890', '1.2-rc1', '1..2', 'v1.2', '1.2.']);
  });
  // R's package_version ("Writing R Extensions" §1.1.1, ?numeric_version): integers separated by . or -.
  test('CRAN: . and - separate integers, leading zeros ignored, a prefix first; refusals', () => {
    assertAscending('CRAN', ['0.9', '0.9-1', '1.0', '1.0-0', '1.0-1', '1.0.2', '1.1', '1.10-1', '2.0']);
    assertPairs('CRAN', [
      ['1.0-1', '=', '1.0.1'],
      ['1.01', '=', '1.1'],
      ['3.5', '<', '3.5.7'],
    ]);
    assertRefused('CRAN', ['1', '1.0a', '1.0-', 'v1.0', '1..0', '1.0_1']);
  });
});
