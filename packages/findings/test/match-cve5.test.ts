// SPDX-License-Identifier: Apache-2.0
// The CVE 5 matcher against stored cvelistV5 records (cve5/). Red Hat's products name their packages by
// packageName in Red Hat's package browser (CVE-2024-3094 xz, CVE-2024-2002 libdwarf). No stored record
// carries a CVE 5.1 `packageURL`, so the version algorithm is exercised on real `versions[]` lists
// (CVE-2026-20912 lessThanOrEqual, CVE-2025-4565 lessThan, CVE-2021-44228 changes, CVE-2025-21631
// defaultStatus affected, wildcards and git) with a packageURL (or the missing packageName) added to the
// product under test — the one edit a CNA writing 5.1 would make; each test names what it changed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cve5Facts, matchCve5 } from '../src/match/cve5.ts';
import { fixture } from './match-cases.ts';

type Product = Record<string, unknown> & { versions?: Record<string, unknown>[] };
type Record5 = { containers: { cna: { affected: Product[] } } };

const record = (id: string) => fixture(`cve5/${id}.json`) as Record5;

/** The record with `patch` applied to its CNA product `index` and every other product left out. */
function only(id: string, index: number, patch: (product: Product) => void): Record5 {
  const doc = structuredClone(record(id));
  const product = doc.containers.cna.affected[index]!;
  patch(product);
  doc.containers.cna.affected = [product];
  return doc;
}

const rhel = (name: string, version: string, release = '8') => ({
  ecosystem: `Red Hat:rhel-${release}`,
  packageName: name,
  version,
  purl: `pkg:rpm/redhat/${name}@${version}?distro=rhel-${release}`,
});

describe('CVE 5: Red Hat products named by packageName in the package browser', () => {
  test('CVE-2024-3094: every RHEL xz product has defaultStatus unaffected, so RHEL xz is not affected', () => {
    assert.deepEqual(matchCve5(record('CVE-2024-3094'), rhel('xz', '5.2.4-4.el8_6')), { kind: 'not-affected' });
  });

  test('CVE-2024-2002: RHEL 7 libdwarf is defaultStatus unknown, which the matcher reports, never guesses', () => {
    const outcome = matchCve5(record('CVE-2024-2002'), rhel('libdwarf', '20130207-4.el7', '7'));
    assert.ok(outcome.kind === 'unknown', JSON.stringify(outcome));
    assert.equal(outcome.reason, 'status-unknown');
    assert.match(outcome.detail, /cna gives status unknown \(defaultStatus\)/);
  });

  test('CVE-2024-2002: a RHEL 8 build meets only the RHEL 8 product (unaffected); no release meets both', () => {
    assert.deepEqual(matchCve5(record('CVE-2024-2002'), rhel('libdwarf', '20180129-4.el8', '8')), {
      kind: 'not-affected',
    });
    const unstated = { ecosystem: 'Red Hat', packageName: 'libdwarf', version: '20180129-4' };
    assert.equal(matchCve5(record('CVE-2024-2002'), unstated).kind, 'unknown');
  });

  test('the upstream xz product (collectionURL github.com) names no package; a REJECTED record never matches', () => {
    const npm = { ecosystem: 'npm', packageName: 'xz', version: '5.6.0' };
    assert.deepEqual(matchCve5(record('CVE-2024-3094'), npm), { kind: 'not-affected' });
    const rejected = structuredClone(record('CVE-2024-3094')) as Record5 & { cveMetadata: { state: string } };
    rejected.cveMetadata.state = 'REJECTED';
    assert.deepEqual(matchCve5(rejected, rhel('xz', '5.2.4-4.el8_6')), { kind: 'not-affected' });
  });
});

describe('CVE 5: the versions[] algorithm on real lists', () => {
  test('CVE-2026-20912 (gitea, 0 ≤ V ≤ 1.25.3 semver, defaultStatus unaffected) with a Go packageURL', () => {
    const doc = only('CVE-2026-20912', 0, (p) => {
      p.packageURL = 'pkg:golang/code.gitea.io/gitea';
    });
    const go = (version: string) => matchCve5(doc, { ecosystem: 'Go', packageName: 'code.gitea.io/gitea', version });
    const at = go('v1.25.3');
    assert.ok(at.kind === 'affected', JSON.stringify(at));
    assert.deepEqual(at.range, {
      type: 'cve5',
      by: 'range',
      introduced: '0',
      versionType: 'semver',
      lastAffected: '1.25.3',
    });
    assert.equal(go('v1.0.0').kind, 'affected');
    assert.deepEqual(go('v1.25.4'), { kind: 'not-affected' });
  });

  test('CVE-2025-4565 (protobuf on pypi.org, three lessThan ranges) with the packageName the record left out', () => {
    const doc = only('CVE-2025-4565', 1, (p) => {
      p.packageName = 'protobuf';
    });
    const pypi = (version: string) => matchCve5(doc, { ecosystem: 'PyPI', packageName: 'protobuf', version });
    const below = pypi('4.25.7');
    assert.ok(below.kind === 'affected', JSON.stringify(below));
    assert.equal(below.range.fixed, '4.25.8');
    assert.deepEqual(below.fixedVersions, ['4.25.8', '5.29.5', '6.31.1']);
    // The first matching entry decides: the record's ranges all start at 0, so 5.29.5 is inside [0, 6.31.1).
    const overlapping = pypi('5.29.5');
    assert.ok(overlapping.kind === 'affected');
    assert.equal(overlapping.range.fixed, '6.31.1');
    assert.deepEqual(pypi('6.31.1'), { kind: 'not-affected' });
    // Another registry's package of the same name is not this one.
    assert.deepEqual(matchCve5(doc, { ecosystem: 'npm', packageName: 'protobuf', version: '4.0.0' }), {
      kind: 'not-affected',
    });
  });

  test('CVE-2021-44228 changes[] with the record\'s custom "log4j-core*" bound: unknown, as written', () => {
    const doc = only('CVE-2021-44228', 0, (p) => {
      p.packageURL = 'pkg:maven/org.apache.logging.log4j/log4j-core';
    });
    const outcome = matchCve5(doc, {
      ecosystem: 'Maven',
      packageName: 'org.apache.logging.log4j:log4j-core',
      version: '2.14.1',
    });
    assert.ok(outcome.kind === 'unknown', JSON.stringify(outcome));
    assert.equal(outcome.reason, 'range-unsupported');
  });

  test('CVE-2021-44228 changes[] (custom, read in Maven order) with the bound written "*" (no upper bound)', () => {
    const doc = only('CVE-2021-44228', 0, (p) => {
      p.packageURL = 'pkg:maven/org.apache.logging.log4j/log4j-core';
      p.versions![0]!.lessThan = '*';
    });
    const maven = (version: string) =>
      matchCve5(doc, { ecosystem: 'Maven', packageName: 'org.apache.logging.log4j:log4j-core', version });
    const latest = maven('2.14.1');
    assert.ok(latest.kind === 'affected' && latest.range.type === 'cve5', JSON.stringify(latest));
    assert.equal(latest.range.change, '2.13.0');
    assert.deepEqual(latest.fixedVersions, ['2.3.1', '2.12.2', '2.15.0']);
    const first = maven('2.3');
    assert.ok(first.kind === 'affected' && first.range.type === 'cve5');
    assert.equal(first.range.change, undefined);
    for (const fixed of ['2.3.1', '2.3.2', '2.12.2', '2.12.4', '2.15.0', '2.17.1'])
      assert.deepEqual(maven(fixed), { kind: 'not-affected' }, fixed);
    assert.equal(maven('2.4.1').kind, 'affected');
    // Below 2.0-beta9 no entry matches and the record has no defaultStatus, which means unknown.
    const older = maven('1.2.17');
    assert.ok(older.kind === 'unknown');
    assert.equal(older.reason, 'status-unknown');
  });

  test('CVE-2025-21631 (Linux, defaultStatus affected, lessThanOrEqual "6.12.*") with a Debian packageURL', () => {
    const doc = only('CVE-2025-21631', 1, (p) => {
      p.packageURL = 'pkg:deb/debian/linux';
    });
    const linux = (version: string) => matchCve5(doc, { ecosystem: 'Debian', packageName: 'linux', version });
    assert.deepEqual(linux('6.12.11'), { kind: 'not-affected' });
    assert.deepEqual(linux('5.15.200'), { kind: 'not-affected' });
    // 6.12.5 is meant to be affected by default, but the entry "0 ≤ V < 6.12" (semver) cannot be read:
    // "6.12" is not SemVer, so whether it matches is unknown, and so is the status.
    const between = linux('6.12.5');
    assert.ok(between.kind === 'unknown', JSON.stringify(between));
    assert.equal(between.reason, 'range-unsupported');
    // With that bound written as SemVer, nothing matches 6.12.5 and the defaultStatus (affected) applies.
    const readable = only('CVE-2025-21631', 1, (p) => {
      p.packageURL = 'pkg:deb/debian/linux';
      p.versions![1]!.lessThan = '6.12.0';
    });
    const fixedBound = matchCve5(readable, { ecosystem: 'Debian', packageName: 'linux', version: '6.12.5' });
    assert.ok(fixedBound.kind === 'affected', JSON.stringify(fixedBound));
    assert.deepEqual(fixedBound.range, { type: 'cve5', by: 'default' });
    assert.deepEqual(matchCve5(readable, { ecosystem: 'Debian', packageName: 'linux', version: '6.11.2' }), {
      kind: 'not-affected',
    });
  });

  test('CVE-2025-21631 git ranges name commits: unknown, not the defaultStatus unaffected', () => {
    const doc = only('CVE-2025-21631', 0, (p) => {
      p.packageURL = 'pkg:deb/debian/linux';
    });
    const outcome = matchCve5(doc, { ecosystem: 'Debian', packageName: 'linux', version: '6.12.5' });
    assert.ok(outcome.kind === 'unknown', JSON.stringify(outcome));
    assert.match(outcome.detail, /versionType git names commits/);
  });
});

describe('CVE 5 facts', () => {
  test('CVE-2021-44228: KEV from the CISA ADP container, CVSS 3.1 from its metrics', () => {
    const facts = cve5Facts(record('CVE-2021-44228'));
    assert.deepEqual(facts.kev, { dateAdded: '2021-12-10' });
    assert.deepEqual(facts.severity, [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H' }]);
  });

  test('CVE-2024-3094 is not in KEV by its CISA ADP container; CVE-2025-4565 carries a CVSS 4.0 vector', () => {
    assert.equal(cve5Facts(record('CVE-2024-3094')).kev, undefined);
    const v4 = cve5Facts(record('CVE-2025-4565')).severity;
    assert.ok(
      v4.some((s) => s.type === 'CVSS_V4' && s.score.startsWith('CVSS:4.0/')),
      JSON.stringify(v4),
    );
  });

  test('CVE-2016-15012: CVSS 3.1, 3.0 and 2.0 vectors of the CNA, in document order', () => {
    assert.deepEqual(
      cve5Facts(record('CVE-2016-15012')).severity.map((s) => s.type),
      ['CVSS_V3', 'CVSS_V3', 'CVSS_V2'],
    );
  });
});
