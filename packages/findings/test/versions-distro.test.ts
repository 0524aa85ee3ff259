// SPDX-License-Identifier: Apache-2.0
// Distribution package versions (dpkg, rpm, apk-tools) against their upstreams' own test vectors.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { compareVersions, isSupportedEcosystem } from '../src/index.ts';
import { assertEqualAll, assertPairs, assertRefused, type Op, parseOpLines } from './vectors/check.ts';

const toOp = (n: number): Op => (n < 0 ? '<' : n > 0 ? '>' : '=');

// guillemj/dpkg scripts/t/100_Dpkg_Version.t, __DATA__ (a b expected). Its last line, "-0.6.5 0.9.1 -1",
// is left out: lib/dpkg's parseversion refuses an empty upstream version, and so does this parser.
const DPKG_VERSION_T = `1.0-1 2.0-2 -1
2.2~rc-4 2.2-1 -1
2.2-1 2.2~rc-4 1
1.0000-1 1.0-1 0
1 0:1 0
0 0:0-0 0
2:2.5 1:7.5 1
1:0foo 0foo 1
0:0foo 0foo 0
0foo 0foo 0
0foo- 0foo 0
0foo- 0foo-0 0
0foo 0fo 1
0foo- 0foo+ -1
0foo~1 0foo -1
0foo~foo+Bar 0foo~foo+bar -1
0foo~~ 0foo~ -1
1~ 1 -1
12345+that-really-is-some-ver-0 12345+that-really-is-some-ver-10 -1
0foo-0 0foo-01 -1
0foo.bar 0foobar 1
0foo.bar 0foo1bar 1
0foo.bar 0foo0bar 1
0foo1bar-1 0foobar-1 -1
0foo2.0 0foo2 1
0foo2.0.0 0foo2.10.0 -1
0foo2.0 0foo2.0.0 -1
0foo2.0 0foo2.10 -1
0foo2.1 0foo2.10 -1
1.09 1.9 0
1.0.8+nmu1 1.0.8 1
3.11 3.10+nmu1 1
0.9j-20080306-4 0.9i-20070324-2 1
1.2.0~b7-1 1.2.0~b6-1 1
1.011-1 1.06-2 1
0.0.9+dfsg1-1 0.0.8+dfsg1-3 1
4.6.99+svn6582-1 4.6.99+svn6496-1 1
53 52 1
0.9.9~pre122-1 0.9.9~pre111-1 1
2:2.3.2-2+lenny2 2:2.3.2-2 1
1:3.8.1-1 3.8.GA-1 1
1.0.1+gpl-1 1.0.1-2 1
1a 1000a -1`;

// guillemj/dpkg lib/dpkg/t/t-version.c: the equalities of test_version_parse and the refusals.
const DPKG_PARSE_EQUAL: [string, string][] = [
  ['0', '0:0'],
  ['0', '0:0-'],
  ['0:0-0', '0-0'],
  ['0:0.0-0.0', '0.0-0.0'],
  ['1:0', '1:0-'],
  ['0:0-0-0', '0-0-0'],
  ['0:0:0-0', '0:0:0-0'],
  ['0:09azAZ.-+~:-0', '0:09azAZ.-+~:-0'],
  ['0:0-azAZ09.+~', '0-azAZ09.+~'],
];
const DPKG_REFUSED = [
  '',
  '0:',
  '0:0 0-1',
  '-1:0-1',
  '999999999999999999999999:0-1',
  'a:0-0',
  'A:0-0',
  '-0',
  '0:-0',
  '0:abc3-0',
  '0:0-0:0',
  ..."!#@$%&/|\\<>()[]{};,_=*^'".split('').map((c) => `0:0${c}-0`),
  ..."!#@$%&/|\\<>()[]{}:;,_=*^'".split('').map((c) => `0:0-0${c}`),
];

describe('Debian and Ubuntu (dpkg)', () => {
  test('dpkg scripts/t/100_Dpkg_Version.t data (43 triples) and t-version.c equalities', () => {
    const rows = DPKG_VERSION_T.split('\n').map((line) => line.split(' '));
    for (const [a, b, expected] of rows) assertPairs('Debian', [[a ?? '', toOp(Number(expected)), b ?? '']]);
    assertPairs(
      'Ubuntu:22.04:LTS',
      DPKG_PARSE_EQUAL.map(([a, b]) => [a, '=', b] as const),
    );
    assertPairs('Debian', [
      ['0:0-1', '<', '1:0-0'],
      ['0:1a-0', '<', '0:1b-0'],
      ['0:0-a', '<', '0:0-b'],
    ]);
  });

  test(`t-version.c refusals (${DPKG_REFUSED.length}): empty, bad epoch, bad characters, no leading digit`, () => {
    assertRefused('Debian', DPKG_REFUSED);
  });
});

// rpm-software-management/rpm tests/rpmvercmp.at, RPMVERCMP(a, b, expected), the active cases.
const RPMVERCMP_AT = `1.0 1.0 0|1.0 2.0 -1|2.0 1.0 1|2.0.1 2.0.1 0|2.0 2.0.1 -1|2.0.1 2.0 1|2.0.1a 2.0.1a 0
2.0.1a 2.0.1 1|2.0.1 2.0.1a -1|5.5p1 5.5p1 0|5.5p1 5.5p2 -1|5.5p2 5.5p1 1|5.5p10 5.5p10 0|5.5p1 5.5p10 -1
5.5p10 5.5p1 1|10xyz 10.1xyz -1|10.1xyz 10xyz 1|xyz10 xyz10 0|xyz10 xyz10.1 -1|xyz10.1 xyz10 1|xyz.4 xyz.4 0
xyz.4 8 -1|8 xyz.4 1|xyz.4 2 -1|2 xyz.4 1|5.5p2 5.6p1 -1|5.6p1 5.5p2 1|5.6p1 6.5p1 -1|6.5p1 5.6p1 1
6.0.rc1 6.0 1|6.0 6.0.rc1 -1|10b2 10a1 1|10a2 10b2 -1|1.0aa 1.0aa 0|1.0a 1.0aa -1|1.0aa 1.0a 1
10.0001 10.0001 0|10.0001 10.1 0|10.1 10.0001 0|10.0001 10.0039 -1|10.0039 10.0001 1|4.999.9 5.0 -1
5.0 4.999.9 1|20101121 20101121 0|20101121 20101122 -1|20101122 20101121 1|2_0 2_0 0|2.0 2_0 0|2_0 2.0 0
a a 0|a+ a+ 0|a+ a_ 0|a_ a+ 0|+a +a 0|+a _a 0|_a +a 0|+_ +_ 0|_+ +_ 0|_+ _+ 0|+ _ 0|_ + 0
1.0~rc1 1.0~rc1 0|1.0~rc1 1.0 -1|1.0 1.0~rc1 1|1.0~rc1 1.0~rc2 -1|1.0~rc2 1.0~rc1 1
1.0~rc1~git123 1.0~rc1~git123 0|1.0~rc1~git123 1.0~rc1 -1|1.0~rc1 1.0~rc1~git123 1
1.0^ 1.0^ 0|1.0^ 1.0 1|1.0 1.0^ -1|1.0^git1 1.0^git1 0|1.0^git1 1.0 1|1.0 1.0^git1 -1
1.0^git1 1.0^git2 -1|1.0^git2 1.0^git1 1|1.0^git1 1.01 -1|1.01 1.0^git1 1|1.0^20160101 1.0^20160101 0
1.0^20160101 1.0.1 -1|1.0.1 1.0^20160101 1|1.0^20160101^git1 1.0^20160101^git1 0
1.0^20160102 1.0^20160101^git1 1|1.0^20160101^git1 1.0^20160102 -1|1.0~rc1^git1 1.0~rc1^git1 0
1.0~rc1^git1 1.0~rc1 1|1.0~rc1 1.0~rc1^git1 -1|1.0^git1~pre 1.0^git1~pre 0|1.0^git1 1.0^git1~pre 1
1.0^git1~pre 1.0^git1 -1`;

describe('Red Hat, AlmaLinux, Rocky Linux, openSUSE (rpmvercmp)', () => {
  const cases = RPMVERCMP_AT.split(/[|\n]/).map((c) => c.split(' '));

  test(`rpm tests/rpmvercmp.at (${cases.length} cases)`, () => {
    for (const [a, b, expected] of cases)
      assert.equal(compareVersions('Red Hat', a ?? '', b ?? ''), Number(expected), `rpmvercmp(${a}, ${b})`);
  });

  test('epoch:version-release: epoch first, then version, then release; a missing release sorts first', () => {
    assertPairs('AlmaLinux:8', [
      ['0:4.18.0-425.3.1.el8', '<', '0:4.18.0-425.10.1.el8'],
      ['1:1.0-1', '>', '0:9.9-9'],
      ['4.18.0-425.3.1.el8', '=', '0:4.18.0-425.3.1.el8'],
      ['2.0', '<', '2.0-1'],
    ]);
    assertEqualAll('Rocky Linux:9', ['1.0-1', '0:1.0-1']);
  });

  test('refused: empty parts, characters rpm does not allow', () => {
    assertRefused('Red Hat', ['', '1.0-', '-1', ':1.0', 'a:1.0', '1.0-1:2', '1.0/2', '1.0 2', 'é']);
  });
});

describe('Alpine, Wolfi, Chainguard (apk-tools)', () => {
  const upstream = parseOpLines(readFileSync(new URL('./vectors/apk-version.data', import.meta.url), 'utf8'));

  test(`apk-tools test/version.data (${upstream.length} triples)`, () => {
    assertPairs('Alpine:v3.20', upstream);
  });

  // apk-tools test/unit/version.data (apk-tools 3) additions: leading-zero parts compare as text, the
  // ~hash commit suffix, and the validity list (the `!` lines are invalid).
  test('apk-tools 3 additions: leading zeros as text, ~hash, validity', () => {
    assertPairs('Wolfi', [
      ['8.2.0', '<', '8.2.001'],
      ['8.2.0015', '<', '8.2.002'],
      ['1.0~1234', '<', '1.0~2345'],
      ['1.0~1234-r1', '<', '1.0~2345-r0'],
      ['1.0~1234-r1', '>', '1.0~1234-r0'],
    ]);
    for (const valid of [
      '1.2',
      '0.1_pre2',
      '0.1_pre2~1234abcd',
      '0.1_p1_pre2',
      '0.1_alpha1_pre2',
      '0.1_git20240101_pre1',
    ])
      assert.equal(compareVersions('Chainguard', valid, valid), 0);
    assertRefused('Chainguard', [
      '0.1bc',
      '0.1bc1',
      '0.1a1',
      '0.1a.1',
      '0.1_pre2~',
      '0.1_pre2~1234xbcd',
      '0.1_pre2~1234abcd_pre1',
      '0.1_pre2-r1~1234xbcd',
      '0.1_foobar',
      '0.1_foobar1',
      '0.1-pre1.1',
      '0.1-r',
      '0.1-r2_pre1',
      '0.1-r2_p3_pre1',
      '0.1-r2-r3',
      '0.1-r2.1',
      '.1',
      'a',
      '_pre1',
      '-r1',
      '0.1_',
      '0.1_-r0',
      '0.1__alpha',
      '0.1_1_alpha',
    ]);
  });

  test('the two invalid lines of test/version.data are refused, not string-sorted', () => {
    assertRefused('Alpine', ['1.0bc', '23_foo']);
  });
});

test('distribution ecosystems take a release suffix; language ecosystems do not', () => {
  for (const name of [
    'Debian:12',
    'debian:11',
    'Ubuntu:22.04:LTS',
    'Alpine:v3.18',
    'AlmaLinux:9',
    'Rocky Linux:8',
    'Red Hat:rhel_aus:8.4::appstream',
  ])
    assert.ok(isSupportedEcosystem(name), name);
  for (const name of ['npm:1', 'Wolfi:1', 'Debian-12', ':Debian', 'Gentoo', 'SwiftURL', 'GitHub Actions'])
    assert.equal(isSupportedEcosystem(name), false, name);
});
