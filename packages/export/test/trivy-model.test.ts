// SPDX-License-Identifier: Apache-2.0
// The Trivy DB projection on the real advisory fixtures (../shared/fixtures/advisories, never edited,
// loaded as AOC records by trivy-fixtures.ts): exact bucket / package / key / value for the cases
// docs/trivy.md describes, skips with their reasons for withdrawn, malformed, unknown-ecosystem and
// GIT-only input, and determinism (two add() orders → byte-identical bbolt files).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { scratchDir } from '@stella/testkit';
import { isBoltBucket, writeBolt } from '../src/bolt/index.ts';
import { groupIds, normalisePackage, TrivyDbBuilder } from '../src/trivy/index.ts';
import { ALL, bucketAt, build, byName, type Json, osvRecord, rawAt, valueAt } from './trivy-fixtures.ts';

const full = build(ALL);
const GHSA_NPM = 'npm::GitHub Security Advisory npm';

describe('trivy projection: language buckets', () => {
  test('semver (GHSA-c2qf-rxjj-qqgw) is keyed by its CVE with exact ranges, in document order', () => {
    assert.deepEqual(valueAt(full.tree, GHSA_NPM, 'semver', 'CVE-2022-25883'), {
      VendorIDs: ['GHSA-c2qf-rxjj-qqgw'],
      VulnerableVersions: ['>=7.0.0, <7.5.2', '>=6.0.0, <6.3.1', '<5.7.2'],
      PatchedVersions: ['7.5.2', '6.3.1', '5.7.2'],
    });
    // Go's encoder escapes < and >; the value bytes are Go-shaped, field order included.
    assert.equal(
      rawAt(full.tree, GHSA_NPM, 'semver', 'CVE-2022-25883'),
      '{"VendorIDs":["GHSA-c2qf-rxjj-qqgw"],"VulnerableVersions":["\\u003e=7.0.0, \\u003c7.5.2","\\u003e=6.0.0, \\u003c6.3.1","\\u003c5.7.2"],"PatchedVersions":["7.5.2","6.3.1","5.7.2"]}',
    );
    assert.deepEqual(valueAt(full.tree, 'data-source', GHSA_NPM), {
      ID: 'ghsa',
      Name: 'GitHub Security Advisory npm',
      URL: 'https://github.com/advisories?query=type%3Areviewed+ecosystem%3Anpm',
    });
  });

  test('path-to-regexp (GHSA-9wv6-86v2-598j)', () => {
    assert.deepEqual(valueAt(full.tree, GHSA_NPM, 'path-to-regexp', 'CVE-2024-45296'), {
      VendorIDs: ['GHSA-9wv6-86v2-598j'],
      VulnerableVersions: ['<0.1.10', '>=0.2.0, <1.9.0', '>=7.0.0, <8.0.0', '>=2.0.0, <3.3.0', '>=4.0.0, <6.3.0'],
      PatchedVersions: ['0.1.10', '1.9.0', '8.0.0', '3.3.0', '6.3.0'],
    });
  });

  test('golang.org/x/net from the Go vulndb (GO-2024-2687) goes to the go-vulndb bucket, keyed by CVE', () => {
    const bucket = 'go::The Go Vulnerability Database';
    assert.deepEqual(valueAt(full.tree, bucket, 'golang.org/x/net', 'CVE-2023-45288'), {
      VendorIDs: ['GHSA-4v7x-pqxf-cx7m', 'GO-2024-2687'],
      VulnerableVersions: ['<0.23.0'],
      PatchedVersions: ['0.23.0'],
    });
    assert.deepEqual(valueAt(full.tree, bucket, 'stdlib', 'CVE-2023-45288')?.VulnerableVersions, [
      '<1.21.9',
      '>=1.22.0-0, <1.22.2',
    ]);
    assert.deepEqual(valueAt(full.tree, 'data-source', bucket), {
      ID: 'go-vulndb',
      Name: 'The Go Vulnerability Database',
      URL: 'https://github.com/golang/vulndb',
    });
    // GHSA's copy (GHSA-4v7x-pqxf-cx7m) names the standard library's net/http, which trivy-db leaves to
    // the Go vulndb: skipped, not projected.
    assert.equal(bucketAt(full.tree, 'go::GitHub Security Advisory Go', 'net/http'), undefined);
    const ghsa = full.stats.skipped.filter((s) => s.upstreamId === 'GHSA-4v7x-pqxf-cx7m');
    assert.deepEqual(
      ghsa.map((s) => s.reason),
      ['no-packages', 'no-packages'],
    );
  });

  test('requests: GHSA under pip::GitHub Security Advisory pip, PYSEC under the PyPA source', () => {
    assert.deepEqual(valueAt(full.tree, 'pip::GitHub Security Advisory pip', 'requests', 'CVE-2023-32681'), {
      VendorIDs: ['GHSA-j8r2-6x86-q33q'],
      VulnerableVersions: ['>=2.3.0, <2.31.0'],
      PatchedVersions: ['2.31.0'],
    });
    const pysec = valueAt(full.tree, 'pip::Python Packaging Advisory Database', 'requests', 'CVE-2023-32681');
    assert.ok(pysec, 'PYSEC-2023-74 projected');
    assert.ok(pysec.VendorIDs.includes('PYSEC-2023-74'), JSON.stringify(pysec));
    assert.deepEqual(pysec.PatchedVersions, ['2.31.0']);
    assert.equal(valueAt(full.tree, 'data-source', 'pip::Python Packaging Advisory Database')?.ID, 'osv');
  });

  test('log4j-core (GHSA-jfh8-c2jp-5v3q) as group:artifact under maven::', () => {
    assert.deepEqual(
      valueAt(
        full.tree,
        'maven::GitHub Security Advisory Maven',
        'org.apache.logging.log4j:log4j-core',
        'CVE-2021-44228',
      ),
      {
        VendorIDs: ['GHSA-jfh8-c2jp-5v3q'],
        VulnerableVersions: ['>=2.13.0, <2.15.0', '<2.3.1', '>=2.4, <2.12.2'],
        PatchedVersions: ['2.15.0', '2.3.1', '2.12.2'],
      },
    );
  });

  test("GHSA's last_known_affected_version_range closes an open range; covered versions[] add nothing", () => {
    // Unreviewed GHSA-ghmj-crg5-xw2j: no aliases, so keyed by its own id; `<= 5.0.0` → `<=5.0.0`.
    assert.deepEqual(valueAt(full.tree, GHSA_NPM, 'yargs-parser', 'GHSA-ghmj-crg5-xw2j'), {
      VulnerableVersions: ['>=0, <=5.0.0'],
    });
    const evm = valueAt(full.tree, 'cargo::GitHub Security Advisory Rust', 'evm', 'CVE-2021-29511');
    assert.ok(evm, 'GHSA-4jwq-572w-4388 projected');
    assert.equal(evm.VulnerableVersions[0], '<0.21.1');
    assert.ok(!evm.VulnerableVersions.some((v: string) => v.startsWith('=')), JSON.stringify(evm));
  });

  test('ids and names: trivy-db grouping and normalisation', () => {
    assert.deepEqual(groupIds('GHSA-x', ['CVE-1', 'PYSEC-2']), { keys: ['CVE-1'], vendorIds: ['PYSEC-2', 'GHSA-x'] });
    assert.deepEqual(groupIds('GO-2021-1', ['GHSA-y']), { keys: ['GO-2021-1'], vendorIds: ['GHSA-y'] });
    assert.equal(normalisePackage('pip', 'Zope_Interface.x'), 'zope-interface.x');
    assert.equal(normalisePackage('go', 'github.com/BurntSushi/toml'), 'github.com/BurntSushi/toml');
    assert.equal(normalisePackage('nuget', 'Newtonsoft.Json'), 'newtonsoft.json');
    assert.equal(normalisePackage('swift', 'https://github.com/a/b.git'), 'github.com/a/b');
  });
});

describe('trivy projection: OS buckets', () => {
  test('AlmaLinux errata go to `alma <major>` with FixedVersion, keyed by CVE', () => {
    assert.deepEqual(valueAt(full.tree, 'alma 8', 'python3-requests', 'CVE-2023-32681'), {
      VendorIDs: ['ALSA-2023:4520'],
      FixedVersion: '2.20.0-3.el8_8',
    });
    assert.equal(valueAt(full.tree, 'data-source', 'alma 8')?.ID, 'alma');
    // ALBA-2021:4378 is a bug-fix erratum without a CVE: trivy-db keys OS advisories by CVE only.
    const alba = full.stats.skipped.filter((s) => s.upstreamId === 'ALBA-2021:4378');
    assert.ok(alba.length > 0 && alba.every((s) => s.reason === 'no-packages'), JSON.stringify(alba));
  });

  test('Chainguard advisories go to `chainguard`, keyed by the upstream CVE', () => {
    assert.deepEqual(valueAt(full.tree, 'chainguard', 'haproxy-2.2', 'CVE-2025-32464'), {
      VendorIDs: ['CGA-224q-ccj5-2p53'],
      FixedVersion: '2.2.34-r0',
    });
    assert.deepEqual(valueAt(full.tree, 'data-source', 'chainguard')?.ID, 'chainguard');
  });
});

describe('trivy projection: vulnerability bucket', () => {
  test('GHSA details: title, severity, vendor severity, CVSS computed from the vector, CWE, dates', () => {
    const v = valueAt(full.tree, 'vulnerability', 'CVE-2021-44228');
    assert.ok(v);
    assert.equal(v.Title, 'Remote code injection in Log4j');
    assert.equal(v.Severity, 'CRITICAL');
    assert.equal(v.VendorSeverity.ghsa, 4);
    assert.deepEqual(v.CVSS.ghsa, { V3Vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', V3Score: 10 });
    assert.deepEqual(v.CweIDs, ['CWE-20', 'CWE-400', 'CWE-502', 'CWE-917']);
    // CVE 5 (source `cve`) adds its references; NVD has no record for this id in the fixtures.
    assert.ok(v.References.length > 5);
    const semver = valueAt(full.tree, 'vulnerability', 'CVE-2022-25883');
    assert.equal(semver?.VendorSeverity.ghsa, 2);
    assert.equal(semver?.CVSS.ghsa.V3Score, 5.3);
    assert.equal(semver?.Severity, 'MEDIUM');
  });

  test('other sources: AlmaLinux severity from its summary, Go vulndb dates without the year-1 placeholder', () => {
    const requests = valueAt(full.tree, 'vulnerability', 'CVE-2023-32681');
    assert.deepEqual(requests?.VendorSeverity, { alma: 2, ghsa: 2 });
    assert.equal(requests?.CVSS.ghsa.V3Score, 6.1);
    const go = valueAt(full.tree, 'vulnerability', 'GO-2022-0379');
    assert.equal(go?.Severity, 'UNKNOWN');
    assert.equal(go?.PublishedDate, '2022-07-29T20:00:03Z');
    assert.equal(go?.LastModifiedDate, undefined);
  });

  test('NVD details count only for ids an advisory uses, under source `nvd`', () => {
    const nvd = byName('nvd-api-2.0/CVE-2022-25929.json');
    const alone = build(nvd);
    assert.equal(alone.tree.entries.size, 2);
    assert.equal(bucketAt(alone.tree, 'vulnerability')?.entries.size, 0);
    const osv = osvRecord({
      id: 'GHSA-test-0001',
      aliases: ['CVE-2022-25929'],
      summary: 'test',
      affected: [
        {
          package: { ecosystem: 'npm', name: 'smoothie' },
          ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.31.1' }] }],
        },
      ],
    });
    const both = build([...nvd, osv]);
    const v = valueAt(both.tree, 'vulnerability', 'CVE-2022-25929');
    assert.equal(v?.VendorSeverity.nvd, 2);
    assert.deepEqual(v?.CVSS.nvd, { V3Vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N', V3Score: 5.4 });
    assert.deepEqual(v?.CweIDs, ['CWE-79']);
    assert.equal(v?.PublishedDate, '2022-12-21T05:15:11.410Z');
    assert.equal(v?.LastModifiedDate, '2022-12-27T22:43:39.123Z');
    assert.equal(v?.Title, 'test');
  });

  test('the vulnerability and data-source buckets exist with no records', () => {
    const empty = new TrivyDbBuilder().tree();
    assert.deepEqual([...empty.entries.keys()].sort(), ['data-source', 'vulnerability']);
    assert.equal(bucketAt(empty, 'vulnerability')?.entries.size, 0);
  });
});

describe('trivy projection: skips', () => {
  const reasonsOf = (stats: ReturnType<TrivyDbBuilder['stats']>, upstreamId: string) =>
    stats.skipped.filter((s) => s.upstreamId === upstreamId).map((s) => s.reason);

  test('withdrawn records are skipped and project nothing', () => {
    const withdrawnGo = ALL.filter((r) => r.recordId.includes('osv-go/current/') && r.withdrawn);
    assert.equal(withdrawnGo.length, 17);
    for (const r of withdrawnGo) assert.deepEqual(reasonsOf(full.stats, r.upstreamId), ['withdrawn']);
    assert.deepEqual(reasonsOf(full.stats, 'PYSEC-2023-73'), ['withdrawn']);
    const alone = build(withdrawnGo);
    assert.equal(alone.stats.advisories, 0);
    assert.equal(alone.stats.skipped.length, 17);
  });

  test('malformed JSON is skipped as malformed', () => {
    const [sad] = byName('sad-PYSEC-2005-1.json');
    assert.ok(sad);
    const { stats } = build([sad]);
    assert.deepEqual(
      stats.skipped.map((s) => s.reason),
      ['malformed'],
    );
  });

  test('unknown ecosystem and GIT-only ranges: dropped parts are reported, good parts projected', () => {
    const doc = {
      id: 'OSV-TEST-1',
      affected: [
        {
          package: { ecosystem: 'Hackage', name: 'aeson' },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.0' }] }],
        },
        {
          package: { ecosystem: 'npm', name: 'gitonly' },
          ranges: [{ type: 'GIT', repo: 'https://x', events: [{ introduced: '0' }, { fixed: 'abc123' }] }],
        },
        {
          package: { ecosystem: 'npm', name: 'Good' },
          ranges: [{ type: 'SEMVER', events: [{ introduced: '1.0.0' }, { last_affected: '1.2.0' }] }],
        },
        {
          package: { ecosystem: 'npm', name: 'bad' },
          ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: 'not a version' }] }],
        },
      ],
    };
    const { tree, stats } = build([osvRecord(doc)]);
    assert.deepEqual(valueAt(tree, 'npm::stella osv', 'good', 'OSV-TEST-1'), {
      VulnerableVersions: ['>=1.0.0, <=1.2.0'],
    });
    assert.deepEqual(valueAt(tree, 'data-source', 'npm::stella osv'), { ID: 'stella-osv', Name: 'stella osv' });
    assert.deepEqual(
      stats.skipped.map((s) => [s.reason, s.detail.split(':')[0]]),
      [
        ['ecosystem-unsupported', 'affected[0] Hackage/aeson'],
        ['range-unparseable', 'affected[1] npm/gitonly'],
        ['range-unparseable', 'affected[3] npm/bad'],
      ],
    );
  });

  test('ids with control characters are malformed; versions[] outside ranges become =v', () => {
    const doc = {
      id: 'OSV-TEST-2',
      aliases: ['CVE-2024-\u0000bad'],
      affected: [
        {
          package: { ecosystem: 'PyPI', name: 'Some_Pkg' },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '1.0' }, { fixed: '1.5' }] }],
          versions: ['1.1', '2.0'],
        },
      ],
    };
    const { stats } = build([osvRecord(doc)]);
    assert.deepEqual(
      stats.skipped.map((s) => s.reason),
      ['malformed'],
    );
    delete (doc as Json).aliases;
    const ok = build([osvRecord(doc)]);
    assert.deepEqual(valueAt(ok.tree, 'pip::stella osv', 'some-pkg', 'OSV-TEST-2'), {
      VulnerableVersions: ['>=1.0, <1.5', '=2.0'],
      PatchedVersions: ['1.5'],
    });
  });

  test('CSAF is format-unsupported with a reason', () => {
    const csaf = ALL.filter((r) => r.format === 'CSAF');
    assert.ok(csaf.length > 0);
    for (const r of csaf) {
      const skips = full.stats.skipped.filter((s) => s.recordId === r.recordId);
      assert.deepEqual(
        skips.map((s) => s.reason),
        ['format-unsupported'],
      );
    }
  });
});

describe('trivy projection: merging', () => {
  const lang = (recordId: string, introduced: string, fixed: string) =>
    osvRecord(
      {
        id: 'GHSA-merg-e000-0001',
        aliases: ['CVE-2099-0001'],
        affected: [
          {
            package: { ecosystem: 'npm', name: 'm' },
            ranges: [{ type: 'SEMVER', events: [{ introduced }, { fixed }] }],
          },
        ],
      },
      { recordId },
    );
  const os = (recordId: string, id: string, events: Json[]) =>
    osvRecord(
      {
        id,
        upstream: ['CVE-2099-0002'],
        affected: [{ package: { ecosystem: 'Wolfi', name: 'pkg' }, ranges: [{ type: 'ECOSYSTEM', events }] }],
      },
      { recordId },
    );

  test('language entries: united in record-id order, whatever the add() order', () => {
    const a = lang('rec-a', '2.0.0', '2.1.0');
    const b = lang('rec-b', '0', '1.5.0');
    const mirror = { ...a, recordId: 'rec-c', vendor: 'osv' };
    for (const order of [
      [a, b, mirror],
      [mirror, b, a],
    ]) {
      assert.deepEqual(valueAt(build(order).tree, GHSA_NPM, 'm', 'CVE-2099-0001'), {
        VendorIDs: ['GHSA-merg-e000-0001'],
        VulnerableVersions: ['>=2.0.0, <2.1.0', '<1.5.0'],
        PatchedVersions: ['2.1.0', '1.5.0'],
      });
    }
  });

  test('OS entries: the highest fixed version, and "unfixed" wins over fixes', () => {
    const fixedLow = os('rec-1', 'CGA-0001', [{ introduced: '0' }, { fixed: '1.2.0-r0' }]);
    const fixedHigh = os('rec-2', 'CGA-0002', [{ introduced: '0' }, { fixed: '1.10.0-r1' }]);
    const unfixed = os('rec-3', 'CGA-0003', [{ introduced: '0' }]);
    assert.deepEqual(valueAt(build([fixedHigh, fixedLow]).tree, 'wolfi', 'pkg', 'CVE-2099-0002'), {
      VendorIDs: ['CGA-0001', 'CGA-0002'],
      FixedVersion: '1.10.0-r1',
    });
    assert.deepEqual(valueAt(build([fixedLow, unfixed, fixedHigh]).tree, 'wolfi', 'pkg', 'CVE-2099-0002'), {
      VendorIDs: ['CGA-0001', 'CGA-0002', 'CGA-0003'],
      Status: 2,
    });
    const late = build([os('rec-4', 'CGA-0004', [{ introduced: '1.0.0-r0' }, { fixed: '1.2.0-r0' }])]);
    assert.deepEqual(
      late.stats.skipped.map((s) => s.reason),
      ['range-unparseable'],
    );
  });
});

describe('trivy projection: the whole fixture set', () => {
  test('every record projects or is skipped with a reason, and nothing throws', () => {
    assert.equal(full.stats.records, ALL.length);
    const projected = new Set<string>();
    for (const [name, bucket] of full.tree.entries) {
      if (name === 'data-source' || name === 'vulnerability' || !isBoltBucket(bucket)) continue;
      for (const pkg of bucket.entries.values())
        if (isBoltBucket(pkg)) for (const id of pkg.entries.keys()) projected.add(String(id));
    }
    assert.equal(full.stats.vulnerabilities, bucketAt(full.tree, 'vulnerability')?.entries.size);
    const skippedIds = new Set(full.stats.skipped.map((s) => s.recordId));
    const silent = ALL.filter((r) => r.format !== 'NVD' && r.format !== 'CVE5' && !skippedIds.has(r.recordId)).filter(
      (r) => !build([r]).stats.advisories,
    );
    assert.deepEqual(
      silent.map((r) => r.recordId),
      [],
    );
    assert.ok(full.stats.advisories > 100, String(full.stats.advisories));
    assert.equal(full.stats.buckets, full.tree.entries.size - 2);
  });

  test('the same records in another add() order give byte-identical bbolt files', async () => {
    const dir = scratchDir('trivy-model');
    const reversed = build([...ALL].reverse());
    const a = join(dir, 'a.db');
    const b = join(dir, 'b.db');
    await writeBolt(full.tree, a);
    await writeBolt(reversed.tree, b);
    assert.ok(readFileSync(a).equals(readFileSync(b)));
    assert.deepEqual(reversed.stats, full.stats);
    // The adapter builds the tree in slices (treeAsync, pausing at every step here): the same bytes.
    const sliced = join(dir, 'sliced.db');
    await writeBolt(await reversed.builder.treeAsync(0), sliced);
    assert.ok(readFileSync(a).equals(readFileSync(sliced)));
  });
});
