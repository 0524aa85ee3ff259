// SPDX-License-Identifier: Apache-2.0
// The NVD matcher against stored NVD CVE API 2.0 responses (nvd-api-2.0/): components named by a CPE 2.3
// (NVD names no purl, so AOC's linksets give its records none). versionStartIncluding + EndExcluding
// (CVE-2022-25929 smoothie, CVE-2022-29194 tensorflow), EndIncluding (CVE-2017-6507 apparmor), an exact
// version in the criteria (CVE-2024-3094 xz, tensorflow 2.9.0 rc0), StartExcluding (CVE-2020-13595, whose
// configuration is an AND with a hardware platform), and CISA's cisaExploitAdd (CVE-2023-4863).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cpeAttributes, matchNvd, nvdFacts } from '../src/match/nvd.ts';
import { fixture } from './match-cases.ts';

const nvd = (id: string) => fixture(`nvd-api-2.0/${id}.json`);

const cpe = (vendor: string, product: string, version = '*', rest = '*:*:*:*:*:*:*') =>
  `cpe:2.3:a:${vendor}:${product}:${version}:${rest}`;

describe('NVD: cpeMatch version bounds', () => {
  test('CVE-2022-25929: smoothie_charts [1.31.0, 1.36.1) for target_sw node.js, in npm order', () => {
    const doc = nvd('CVE-2022-25929');
    const smoothie = (version: string, target = 'node.js') =>
      matchNvd(doc, {
        ecosystem: 'npm',
        packageName: 'smoothie',
        version,
        cpe: cpe('smoothiecharts', 'smoothie_charts', '*', `*:*:*:*:${target}:*:*`),
      });
    const inside = smoothie('1.35.0');
    assert.ok(inside.kind === 'affected', JSON.stringify(inside));
    assert.deepEqual(inside.range, {
      type: 'nvd',
      criteria: 'cpe:2.3:a:smoothiecharts:smoothie_charts:*:*:*:*:*:node.js:*:*',
      introduced: '1.31.0',
      fixed: '1.36.1',
    });
    assert.deepEqual(inside.fixedVersions, ['1.36.1']);
    assert.equal(smoothie('1.31.0').kind, 'affected');
    assert.deepEqual(smoothie('1.30.9'), { kind: 'not-affected' });
    assert.deepEqual(smoothie('1.36.1'), { kind: 'not-affected' });
    // The criteria says target_sw node.js: a component CPE for another target is another product.
    assert.deepEqual(smoothie('1.35.0', 'python'), { kind: 'not-affected' });
  });

  test('CVE-2022-29194: tensorflow split ranges and 2.9.0 rc versions named in the update attribute', () => {
    const doc = nvd('CVE-2022-29194');
    const tf = (version: string, update = '*') =>
      matchNvd(doc, {
        ecosystem: 'PyPI',
        packageName: 'tensorflow',
        version,
        cpe: cpe('google', 'tensorflow', version, `${update}:*:*:*:*:*:*`),
      });
    assert.equal(tf('2.6.3').kind, 'affected');
    assert.deepEqual(tf('2.6.4'), { kind: 'not-affected' });
    assert.equal(tf('2.7.1').kind, 'affected');
    assert.deepEqual(tf('2.7.2'), { kind: 'not-affected' });
    assert.equal(tf('2.8.0').kind, 'affected');
    assert.deepEqual(tf('2.8.1'), { kind: 'not-affected' });
    assert.equal(tf('2.9.0', 'rc1').kind, 'affected');
    assert.deepEqual(tf('2.9.0'), { kind: 'not-affected' });
  });

  test('CVE-2017-6507: apparmor ≤ 2.11 (versionEndIncluding); the CPE version wins over the component version', () => {
    const doc = nvd('CVE-2017-6507');
    const apparmor = (version: string) =>
      matchNvd(doc, { ecosystem: 'PyPI', packageName: 'apparmor', version, cpe: cpe('apparmor', 'apparmor', version) });
    const at = apparmor('2.11');
    assert.ok(at.kind === 'affected', JSON.stringify(at));
    assert.equal(at.range.lastAffected, '2.11');
    assert.deepEqual(apparmor('2.11.1'), { kind: 'not-affected' });
  });

  test('CVE-2024-3094: xz 5.6.0 and 5.6.1 named exactly; other versions are not', () => {
    const doc = nvd('CVE-2024-3094');
    const xz = (version: string) =>
      matchNvd(doc, { ecosystem: 'Debian', packageName: 'xz-utils', version, cpe: cpe('tukaani', 'xz', version) });
    assert.equal(xz('5.6.1').kind, 'affected');
    assert.deepEqual(xz('5.4.5'), { kind: 'not-affected' });
  });

  test('CVE-2020-13595: esp-idf is vulnerable only on esp32 hardware (AND): unknown for one component', () => {
    const doc = nvd('CVE-2020-13595');
    const idf = (version: string) =>
      matchNvd(doc, { ecosystem: 'PyPI', packageName: 'esp-idf', version, cpe: cpe('espressif', 'esp-idf', version) });
    const inside = idf('4.1');
    assert.ok(inside.kind === 'unknown', JSON.stringify(inside));
    assert.equal(inside.reason, 'range-unsupported');
    assert.deepEqual(idf('4.3'), { kind: 'not-affected' });
  });

  test('a component without a CPE is never named; a bound the ecosystem cannot read is unknown', () => {
    const doc = nvd('CVE-2022-29194');
    assert.deepEqual(matchNvd(doc, { ecosystem: 'PyPI', packageName: 'tensorflow', version: '2.6.3' }), {
      kind: 'not-affected',
    });
    // apparmor's bound "2.11" is not SemVer: read in npm's order it cannot be compared.
    const outcome = matchNvd(nvd('CVE-2017-6507'), {
      ecosystem: 'npm',
      packageName: 'apparmor',
      version: '2.10.0',
      cpe: cpe('apparmor', 'apparmor'),
    });
    assert.ok(outcome.kind === 'unknown', JSON.stringify(outcome));
    assert.equal(outcome.reason, 'version-unparseable');
  });

  test('cpeAttributes splits on unescaped colons only', () => {
    assert.deepEqual(cpeAttributes('cpe:2.3:a:vendor:prod\\:uct:1.0:*:*:*:*:*:*:*')?.slice(0, 4), [
      'a',
      'vendor',
      'prod\\:uct',
      '1.0',
    ]);
    assert.equal(cpeAttributes('cpe:/a:vendor:product:1.0'), undefined);
  });
});

describe('NVD facts', () => {
  test('CVE-2023-4863: cisaExploitAdd → KEV, cvssMetricV31 vectors → CVSS_V3', () => {
    const facts = nvdFacts(nvd('CVE-2023-4863'));
    assert.deepEqual(facts.kev, { dateAdded: '2023-09-13' });
    assert.ok(facts.severity.length > 0);
    assert.ok(facts.severity.every((s) => s.type === 'CVSS_V3' && s.score.startsWith('CVSS:3.1/')));
  });

  test('CVE-2022-29194: V3.1 and V2 vectors, no KEV', () => {
    const facts = nvdFacts(nvd('CVE-2022-29194'));
    assert.equal(facts.kev, undefined);
    assert.deepEqual([...new Set(facts.severity.map((s) => s.type))], ['CVSS_V3', 'CVSS_V2']);
  });
});
