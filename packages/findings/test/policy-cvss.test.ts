// SPDX-License-Identifier: Apache-2.0
// The CVSS base-score calculators against FIRST's own worked examples, and a source's severity level
// read from CVSS vectors, GHSA words and vendor words, per source (`any`, `all`, a vendor name).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { roundUp30, roundUp31 } from '../src/policy/cvss.ts';
import { cvss2BaseScore, cvss3BaseScore, findingLevel } from '../src/policy/index.ts';
import { entryLevel } from '../src/policy/severity.ts';

// FIRST, "CVSS v3.1 Examples" (https://www.first.org/cvss/v3.1/examples): each vector with the base
// score the document gives. The v3.0 examples document scores the same vectors the same way.
const V31_EXAMPLES: [string, string, number][] = [
  ['CVE-2013-1937 phpMyAdmin reflected XSS', 'AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1],
  ['CVE-2013-0375 MySQL stored SQL injection', 'AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N', 6.4],
  ['CVE-2014-3566 SSLv3 POODLE', 'AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N', 3.1],
  ['CVE-2012-1516 VMware guest to host escape', 'AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H', 9.9],
  ['CVE-2009-0783 Apache Tomcat XML parser', 'AV:L/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:L', 4.2],
  ['CVE-2012-0384 Cisco IOS arbitrary command execution', 'AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H', 8.8],
  ['CVE-2015-1098 Apple iWork denial of service', 'AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H', 7.8],
  ['CVE-2014-0160 OpenSSL Heartbleed', 'AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N', 7.5],
  ['CVE-2014-6271 GNU Bash Shellshock', 'AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
  ['CVE-2008-1447 DNS Kaminsky bug', 'AV:N/AC:H/PR:N/UI:N/S:C/C:N/I:H/A:N', 6.8],
  ['CVE-2014-2005 Sophos login screen bypass', 'AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 6.8],
  ['CVE-2010-0467 Joomla directory traversal', 'AV:N/AC:L/PR:N/UI:N/S:C/C:L/I:N/A:N', 5.8],
  ['CVE-2012-1342 Cisco ASA ACL bypass', 'AV:N/AC:L/PR:N/UI:N/S:C/C:N/I:L/A:N', 5.8],
  ['CVE-2013-6014 Juniper proxy ARP denial of service', 'AV:A/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:H', 9.3],
];

// FIRST, "A Complete Guide to the Common Vulnerability Scoring System Version 2.0", §3.3 examples.
const V2_EXAMPLES: [string, string, number][] = [
  ['CVE-2002-0392 Apache chunked encoding', 'AV:N/AC:L/Au:N/C:N/I:N/A:C', 7.8],
  ['CVE-2003-0818 Windows ASN.1', 'AV:N/AC:L/Au:N/C:C/I:C/A:C', 10.0],
  ['CVE-2003-0062 NOD32 buffer overflow', 'AV:L/AC:H/Au:N/C:C/I:C/A:C', 6.2],
];

describe('CVSS v3 base score', () => {
  for (const [name, vector, score] of V31_EXAMPLES) {
    test(`${name}: ${score}`, () => {
      assert.equal(cvss3BaseScore(`CVSS:3.1/${vector}`), score);
      assert.equal(cvss3BaseScore(`CVSS:3.0/${vector}`), score);
    });
  }

  test('temporal and environmental metrics are accepted and do not change the base score', () => {
    assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:R/CR:H/MAV:L'), 9.8);
  });

  test('no impact scores 0', () => {
    assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N'), 0);
  });

  test('Roundup: v3.1 Appendix A examples, and float noise that the v3.0 ceiling rounds up', () => {
    assert.equal(roundUp31(4.02), 4.1);
    assert.equal(roundUp31(4.0), 4.0);
    // 4.000000000000001 is how binary floating point may hold a sum that is 4.0 in decimal: v3.1's
    // Roundup was defined to give 4.0 for it, where v3.0's plain ceiling gives 4.1.
    assert.equal(roundUp31(4.000000000000001), 4.0);
    assert.equal(roundUp30(4.000000000000001), 4.1);
  });

  test('malformed vectors give undefined, never a guess', () => {
    for (const vector of [
      'AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
      'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H',
      'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/A:H',
      'CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
      'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1',
      'CVSS:3.1/AV:N//AC:L',
      'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N',
      '',
    ])
      assert.equal(cvss3BaseScore(vector), undefined, vector);
  });
});

describe('CVSS v2 base score', () => {
  for (const [name, vector, score] of V2_EXAMPLES) {
    test(`${name}: ${score}`, () => {
      assert.equal(cvss2BaseScore(vector), score);
      assert.equal(cvss2BaseScore(`(${vector})`), score);
    });
  }

  test('temporal metrics are ignored; a malformed vector gives undefined; no impact is 0', () => {
    assert.equal(cvss2BaseScore('AV:N/AC:L/Au:N/C:N/I:N/A:C/E:F/RL:OF/RC:C'), 7.8);
    assert.equal(cvss2BaseScore('AV:N/AC:L/Au:N/C:N/I:N'), undefined);
    assert.equal(cvss2BaseScore('AV:N/AC:L/Au:Q/C:N/I:N/A:C'), undefined);
    assert.equal(cvss2BaseScore('AV:N/AC:L/Au:N/C:N/I:N/A:N'), 0);
    assert.ok(!Object.is(cvss2BaseScore('AV:L/AC:H/Au:M/C:N/I:N/A:N'), -0));
  });
});

describe('severity levels', () => {
  test('each entry type is read by its own rule', () => {
    const cases: [string, string, string][] = [
      ['CVSS_V3', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 'critical'],
      ['CVSS_V3', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N', 'high'],
      ['CVSS_V3', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L', 'medium'],
      ['CVSS_V3', 'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N', 'low'],
      ['CVSS_V3', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N', 'none'],
      ['CVSS_V2', 'AV:N/AC:L/Au:N/C:C/I:C/A:C', 'high'],
      ['CVSS_V2', 'AV:L/AC:H/Au:N/C:C/I:C/A:C', 'medium'],
      ['CVSS_V4', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 'unknown'],
      ['GHSA', 'MODERATE', 'medium'],
      ['GHSA', 'critical', 'critical'],
      ['VENDOR', 'Important', 'high'],
      ['VENDOR', 'Low', 'low'],
      ['VENDOR', 'Severe-ish', 'unknown'],
      ['CVSS_V3', 'not a vector', 'unknown'],
      ['ECOSYSTEM_SPECIFIC', 'HIGH', 'unknown'],
    ];
    for (const [type, score, level] of cases) assert.equal(entryLevel({ type, score }), level, `${type} ${score}`);
  });

  const source = (vendor: string, ...severity: { type: string; score: string }[]) => ({ vendor, severity });
  const sources = [
    source(
      'ghsa',
      { type: 'GHSA', score: 'HIGH' },
      { type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L' },
    ),
    source('nvd', { type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }),
    source('redhat', { type: 'VENDOR', score: 'Moderate' }),
    source('osv', { type: 'CVSS_V4', score: 'CVSS:4.0/AV:N' }),
  ];

  test('any: the highest level over sources; a source its highest readable entry', () => {
    assert.equal(findingLevel(sources), 'critical');
    assert.equal(findingLevel(sources, 'any'), 'critical');
  });

  test('all: the lowest level among the sources that give one; none readable is unknown', () => {
    assert.equal(findingLevel(sources, 'all'), 'medium');
    assert.equal(findingLevel([sources[3]!], 'all'), 'unknown');
    assert.equal(findingLevel([], 'all'), 'unknown');
  });

  test('a vendor name: only that vendor’s sources; a vendor with no source is unknown', () => {
    assert.equal(findingLevel(sources, 'ghsa'), 'high');
    assert.equal(findingLevel(sources, 'redhat'), 'medium');
    assert.equal(findingLevel(sources, 'debian'), 'unknown');
  });
});
