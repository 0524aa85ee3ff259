// SPDX-License-Identifier: Apache-2.0
// The scan core with CSAF, CVE 5 and NVD records as the AOC door hands them over (verbatim text, the
// package-level purls their linkset names): they are matched instead of counted as not evaluated, and
// a CVE 5 record's finding groups with the GHSA record of the same CVE (GHSA-jfh8-c2jp-5v3q, log4j).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DEFAULT_JSON_LIMITS } from '@stella/core';
import { advisoryFixtures } from '@stella/testkit';
import Value from 'typebox/value';
import { joinEvidence } from '../src/evidence/join.ts';
import { ScanReportSchema } from '../src/routes/scan-schemas.ts';
import { parseSbom } from '../src/sbom/parse.ts';
import type { AdvisoryRecord } from '../src/scan/advisories.ts';
import type { ScanReport } from '../src/scan/scan.ts';
import { scanComponents } from '../src/scan/scan.ts';

const keyOf = (purl: string) => purl.slice(0, purl.lastIndexOf('@'));
/** The report as the route serves it: joined with (here, no) VEX and reachability. */
const served = (report: ScanReport) =>
  joinEvidence(report, { subjectKey: undefined, fact: undefined, vexFor: () => [], packageKeyOf: keyOf });
const read = (relative: string) => readFileSync(join(advisoryFixtures(), relative), 'utf8');

function record(format: string, upstreamId: string, raw: string, packages: string[], aliases: string[] = []) {
  const vendor = format.toLowerCase();
  return {
    recordId: `advisory_raw:${vendor}:${upstreamId}:1`,
    vendor,
    upstreamId,
    contentHash: `sha256:${upstreamId}`,
    format,
    aliases,
    packages,
    raw,
  } satisfies AdvisoryRecord;
}

const LOG4J = 'pkg:maven/org.apache.logging.log4j/log4j-core';
const GHSA_LOG4J = record(
  'OSV',
  'GHSA-jfh8-c2jp-5v3q',
  read('ghsa/advisory-database/advisories/github-reviewed/2021/12/GHSA-jfh8-c2jp-5v3q/GHSA-jfh8-c2jp-5v3q.json'),
  [LOG4J],
  ['CVE-2021-44228'],
);

/** CVE-2021-44228 as stored, with a CVE 5.1 packageURL on its product (and, optionally, its bound as "*"). */
function cveLog4j(openBound: boolean): AdvisoryRecord {
  const doc = JSON.parse(read('cve5/CVE-2021-44228.json'));
  const product = doc.containers.cna.affected[0];
  product.packageURL = LOG4J;
  if (openBound) product.versions[0].lessThan = '*';
  return record('CVE5', 'CVE-2021-44228', JSON.stringify(doc), [LOG4J]);
}

const sbom = (components: { name: string; version: string; purl: string }[]) =>
  parseSbom({
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    components: components.map((c, i) => ({ 'bom-ref': `c${i}`, ...c })),
  }).components;

describe('scan core: CSAF, CVE 5 and NVD records', () => {
  test('a Red Hat CSAF advisory naming an RPM is matched, no longer counted as not evaluated', () => {
    const csaf = record(
      'CSAF',
      'RHSA-2024:0010',
      read('csaf/redhat-via-anchore-vunnel/rhsa-2024_0010.json'),
      ['pkg:rpm/redhat/tigervnc'],
      ['CVE-2023-5367', 'CVE-2023-6377', 'CVE-2023-6478'],
    );
    const components = sbom([
      {
        name: 'tigervnc',
        version: '1.13.1-3.el9_3.2',
        purl: 'pkg:rpm/redhat/tigervnc@1.13.1-3.el9_3.2?arch=x86_64&distro=rhel-9.3',
      },
    ]);
    const report = scanComponents(components, [csaf], keyOf, DEFAULT_JSON_LIMITS);
    assert.deepEqual(report.notEvaluated, {});
    assert.deepEqual(report.undecided, []);
    assert.equal(report.findings.length, 1);
    const [finding] = report.findings;
    assert.equal(finding!.vulnerabilityId, 'CVE-2023-5367');
    assert.deepEqual(finding!.fixedVersions, ['1.13.1-3.el9_3.3']);
    const [source] = finding!.sources;
    assert.equal(source!.upstreamId, 'RHSA-2024:0010');
    assert.equal(source!.range.type, 'csaf');
    assert.ok(source!.severity.some((s) => s.type === 'CVSS_V3'));
    assert.deepEqual(source!.severity.at(-1), { type: 'CSAF_AGGREGATE', score: 'Important' });
    assert.ok(
      Value.Check(ScanReportSchema, served(report)),
      JSON.stringify([...Value.Errors(ScanReportSchema, served(report))]),
    );
  });

  test('a CVE 5 record and the GHSA of the same CVE make one log4j-core finding with both sources and KEV', () => {
    const components = sbom([{ name: 'log4j-core', version: '2.14.1', purl: `${LOG4J}@2.14.1` }]);
    const report = scanComponents(components, [GHSA_LOG4J, cveLog4j(true)], keyOf, DEFAULT_JSON_LIMITS);
    assert.deepEqual(report.notEvaluated, {});
    assert.equal(report.findings.length, 1);
    const [finding] = report.findings;
    assert.equal(finding!.vulnerabilityId, 'CVE-2021-44228');
    assert.deepEqual(finding!.aliases, ['GHSA-jfh8-c2jp-5v3q']);
    assert.deepEqual(
      finding!.sources.map((s) => [s.upstreamId, s.range.type, s.kev]),
      [
        ['CVE-2021-44228', 'cve5', { dateAdded: '2021-12-10' }],
        ['GHSA-jfh8-c2jp-5v3q', 'ECOSYSTEM', undefined],
      ],
    );
    assert.deepEqual(finding!.fixedVersions, ['2.3.1', '2.12.2', '2.15.0']);
    // The HTTP report schema admits the cve5 range and the KEV fact (the route serialises by it).
    assert.ok(
      Value.Check(ScanReportSchema, served(report)),
      JSON.stringify([...Value.Errors(ScanReportSchema, served(report))]),
    );
  });

  test('a CVE 5 range the matcher cannot read is undecided; the GHSA finding stands alone', () => {
    const components = sbom([{ name: 'log4j-core', version: '2.14.1', purl: `${LOG4J}@2.14.1` }]);
    const report = scanComponents(components, [GHSA_LOG4J, cveLog4j(false)], keyOf, DEFAULT_JSON_LIMITS);
    assert.deepEqual(
      report.findings.map((f) => [f.vulnerabilityId, f.sources.map((s) => s.upstreamId)]),
      [['CVE-2021-44228', ['GHSA-jfh8-c2jp-5v3q']]],
    );
    assert.deepEqual(
      report.undecided.map((u) => [u.ref, u.advisory, u.reason]),
      [['c0', 'CVE-2021-44228', 'range-unsupported']],
    );
    assert.deepEqual(report.notEvaluated, {});
    assert.ok(Value.Check(ScanReportSchema, served(report)));
  });

  test('an NVD record naming a component without a CPE stays not evaluated', () => {
    const components = sbom([{ name: 'xz', version: '5.6.1', purl: 'pkg:npm/xz@5.6.1' }]);
    const nvd = record('NVD', 'CVE-2024-3094', read('nvd-api-2.0/CVE-2024-3094.json'), ['pkg:npm/xz']);
    const report = scanComponents(components, [nvd], keyOf, DEFAULT_JSON_LIMITS);
    assert.deepEqual(report.findings, []);
    assert.deepEqual(report.notEvaluated, { NVD: 1 });
  });

  test('a format named like an object member is a format without a matcher, not a crash', () => {
    const components = sbom([{ name: 'xz', version: '5.6.1', purl: 'pkg:npm/xz@5.6.1' }]);
    const odd = record('toString', 'X-1', '{}', ['pkg:npm/xz']);
    assert.deepEqual(scanComponents(components, [odd], keyOf, DEFAULT_JSON_LIMITS).notEvaluated, { toString: 1 });
  });
});
