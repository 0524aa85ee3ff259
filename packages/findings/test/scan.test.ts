// SPDX-License-Identifier: Apache-2.0
// The scan core without a database: examples/node-app's components against the real GHSA documents
// for its packages, alias groups across sources, and what is reported instead of guessed.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DEFAULT_JSON_LIMITS } from '@stella/core';
import { advisoryFixtures } from '@stella/testkit';
import { parseSbom } from '../src/sbom/parse.ts';
import type { AdvisoryRecord } from '../src/scan/advisories.ts';
import { scanComponents } from '../src/scan/scan.ts';
import { aliasGroups } from '../src/scan/vulnerabilities.ts';
import { nodeAppSbom } from './node-app.ts';

const GHSA = join(advisoryFixtures(), 'ghsa');
const keyOf = (purl: string) => purl.slice(0, purl.lastIndexOf('@'));

/** A fixture document as the AOC door would hand it over. */
function advisory(rel: string, vendor = 'ghsa', overrides: Partial<AdvisoryRecord> = {}): AdvisoryRecord {
  const raw = readFileSync(join(GHSA, rel), 'utf8');
  const doc = JSON.parse(raw) as { id: string; aliases?: string[]; affected: { package: { name: string } }[] };
  return {
    recordId: `advisory_raw:${vendor}:${doc.id}:1`,
    vendor,
    upstreamId: doc.id,
    contentHash: `sha256:${createHash('sha256').update(raw).digest('hex')}`,
    format: 'OSV',
    aliases: doc.aliases ?? [],
    packages: [...new Set(doc.affected.map((a) => `pkg:npm/${a.package.name}`))],
    raw,
    ...overrides,
  };
}

const ADVISORIES = [
  'advisory-database/advisories/github-reviewed/2024/09/GHSA-9wv6-86v2-598j/GHSA-9wv6-86v2-598j.json',
  'advisory-database/advisories/github-reviewed/2023/06/GHSA-c2qf-rxjj-qqgw/GHSA-c2qf-rxjj-qqgw.json',
  'advisory-database/advisories/unreviewed/2022/02/GHSA-ghmj-crg5-xw2j/GHSA-ghmj-crg5-xw2j.json',
  'via-trivy-db/GHSA-75v8-2h7p-7m2m.json',
];

const components = parseSbom(JSON.parse(nodeAppSbom('sbom.cdx.json').toString('utf8'))).components;

describe('scan core', () => {
  test("node-app against its packages' GHSA advisories: four findings, formidable 3.5.2 inside 3.1.1-canary…3.5.3", () => {
    const report = scanComponents(
      components,
      ADVISORIES.map((rel) => advisory(rel)),
      keyOf,
      DEFAULT_JSON_LIMITS,
    );
    assert.equal(report.components, 62);
    assert.deepEqual(
      report.findings.map((f) => [f.component.purl, f.vulnerabilityId, f.aliases, f.fixedVersions]),
      [
        ['pkg:npm/formidable@3.5.2', 'CVE-2025-46653', ['GHSA-75v8-2h7p-7m2m'], ['3.5.3']],
        ['pkg:npm/path-to-regexp@0.1.7', 'CVE-2024-45296', ['GHSA-9wv6-86v2-598j'], ['0.1.10']],
        ['pkg:npm/semver@7.5.1', 'CVE-2022-25883', ['GHSA-c2qf-rxjj-qqgw'], ['7.5.2']],
        ['pkg:npm/yargs-parser@13.1.1', 'GHSA-ghmj-crg5-xw2j', [], []],
      ],
    );
    assert.deepEqual(report.undecided, []);
    assert.deepEqual(report.notEvaluated, {});
  });

  test('two documents of one vulnerability make one finding with both sources; nothing is merged', () => {
    const ghsa = advisory(ADVISORIES[1]!);
    // The same vulnerability as another source publishes it (its own id, aliasing the CVE).
    const mirror = advisory(ADVISORIES[1]!, 'osv-mirror', {
      recordId: 'advisory_raw:osv-mirror:MIRROR-1:1',
      upstreamId: 'MIRROR-1',
      aliases: ['CVE-2022-25883'],
    });
    const report = scanComponents(components, [mirror, ghsa], keyOf, DEFAULT_JSON_LIMITS);
    assert.equal(report.findings.length, 1);
    const [finding] = report.findings;
    assert.equal(finding!.vulnerabilityId, 'CVE-2022-25883');
    assert.deepEqual(finding!.aliases, ['GHSA-c2qf-rxjj-qqgw', 'MIRROR-1']);
    assert.deepEqual(
      finding!.sources.map((s) => s.recordId),
      ['advisory_raw:ghsa:GHSA-c2qf-rxjj-qqgw:1', 'advisory_raw:osv-mirror:MIRROR-1:1'],
    );
  });

  test('formats no matcher reads are counted; components without purl or version are reported', () => {
    // CSAF, CVE5 and NVD have matchers now (scan-formats.test.ts); CVRF, CSAF's predecessor, has none.
    const cvrf = advisory(ADVISORIES[0]!, 'vendor', { format: 'CVRF' });
    const sbom = parseSbom({
      bomFormat: 'CycloneDX',
      specVersion: '1.6',
      components: [
        { 'bom-ref': 'a', name: 'path-to-regexp', version: '0.1.7', purl: 'pkg:npm/path-to-regexp@0.1.7' },
        { 'bom-ref': 'b', name: 'leftpad', version: '1.0.0' },
        { 'bom-ref': 'c', name: 'semver', purl: 'pkg:npm/semver' },
        { 'bom-ref': 'd', name: 'x', version: '1', purl: 'pkg:generic/x@1' },
      ],
    });
    const report = scanComponents(sbom.components, [cvrf], keyOf, DEFAULT_JSON_LIMITS);
    assert.deepEqual(report.findings, []);
    assert.deepEqual(report.notEvaluated, { CVRF: 1 });
    assert.deepEqual(
      report.undecided.map((u) => [u.ref, u.reason]),
      [
        ['b', 'no-purl'],
        ['c', 'no-version'],
        ['d', 'ecosystem-unknown'],
      ],
    );
  });

  test('alias groups: linked through a shared alias, named CVE first, then GHSA, then the smallest id', () => {
    const groups = aliasGroups([
      { upstreamId: 'GO-2024-2687', aliases: ['GHSA-4v7x-pqxf-cx7m', 'CVE-2023-45288'] },
      { upstreamId: 'GHSA-4v7x-pqxf-cx7m', aliases: [] },
      { upstreamId: 'PYSEC-1', aliases: ['GHSA-aaaa-bbbb-cccc'] },
      { upstreamId: 'OSV-2', aliases: ['OSV-1'] },
    ]);
    assert.deepEqual(groups.get('GHSA-4v7x-pqxf-cx7m'), {
      id: 'CVE-2023-45288',
      aliases: ['GHSA-4v7x-pqxf-cx7m', 'GO-2024-2687'],
    });
    assert.equal(groups.get('PYSEC-1')?.id, 'GHSA-aaaa-bbbb-cccc');
    assert.equal(groups.get('OSV-2')?.id, 'OSV-1');
  });
});
