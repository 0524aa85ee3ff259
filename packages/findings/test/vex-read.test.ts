// SPDX-License-Identifier: Apache-2.0
// VEX statements read out of the real fixture documents of all three formats. Most upstream examples
// name products without a purl or CPE (nothing a component can match), so some tests add identifiers
// to a parsed fixture in memory, never to the file, to exercise CSAF relationships, flags and
// remediations and CycloneDX local bom-refs.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { advisoryFixtures } from '@stella/testkit';
import type { VexStatement } from '../src/evidence/model.ts';
import {
  MAX_STATEMENTS_PER_DOCUMENT,
  readVexRecords,
  readVexStatements,
  type SkippedVexRecord,
  type VexRecordWithRaw,
} from '../src/vex/index.ts';

const ROOT = advisoryFixtures();
const VEX_DIRS = [
  'openvex',
  'cyclonedx-vex',
  'csaf/oasis-csaf-2.0-examples/csaf/csaf_vex',
  'csaf/oasis-csaf-2.1-examples/csaf/csaf_vex',
  'csaf/redhat-vex-via-trivy-db',
];

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return jsonFiles(path);
    return name.endsWith('.json') ? [path] : [];
  });
}

/** Every VEX document of the fixtures; the CycloneDX SBOMs beside them (bom*.json) are not VEX. */
const FILES = VEX_DIRS.flatMap((dir) => jsonFiles(join(ROOT, dir)))
  .map((path) => relative(ROOT, path))
  .filter((rel) => !/\/bom(-\d+)?\.json$/.test(rel))
  .sort();

const formatOf = (rel: string) =>
  rel.startsWith('openvex/') ? 'OPENVEX' : rel.startsWith('csaf/') ? 'CSAF_VEX' : 'CYCLONEDX_VEX';

function recordOf(rel: string, raw = readFileSync(join(ROOT, rel), 'utf8')): VexRecordWithRaw {
  return {
    recordId: `vex_raw:test:${rel}:1`,
    vendor: 'test',
    upstreamId: rel,
    revision: 1,
    contentHash: 'sha256:0',
    format: formatOf(rel),
    specVersion: '',
    aliases: [],
    packages: [],
    raw,
  };
}

const parsed = (rel: string) => JSON.parse(readFileSync(join(ROOT, rel), 'utf8')) as Record<string, unknown>;
const statementsOf = (rel: string, doc: unknown = parsed(rel)) => readVexStatements(recordOf(rel), doc);
const cite = (rel: string) => ({
  recordId: `vex_raw:test:${rel}:1`,
  vendor: 'test',
  upstreamId: rel,
  contentHash: 'sha256:0',
});

describe('every fixture VEX document reads', () => {
  test('all 57 documents parse without a skip; the statement count per format is as the documents give', () => {
    assert.equal(FILES.length, 57);
    const skipped: SkippedVexRecord[] = [];
    const statements = readVexRecords(
      FILES.map((rel) => recordOf(rel)),
      undefined,
      skipped,
    );
    assert.deepEqual(skipped, []);
    const byFormat = new Map<string, number>();
    for (const s of statements) byFormat.set(s.format, (byFormat.get(s.format) ?? 0) + 1);
    // OpenVEX names purls everywhere; CSAF and CycloneDX examples mostly name products by name only.
    assert.deepEqual(Object.fromEntries(byFormat), { OPENVEX: 40, CYCLONEDX_VEX: 4 });
    for (const s of statements) {
      assert.match(s.pointer, /^\/(statements|vulnerabilities)\/\d+/);
      assert.match(s.product, /^(pkg:|cpe:)/);
    }
  });
});

describe('OpenVEX', () => {
  test('0.2.0: a product with subcomponents gives one statement per identifier, with impact and justification', () => {
    const rel = 'openvex/go-vex-testdata/v0.2.0.json';
    const statements = statementsOf(rel);
    assert.equal(statements.length, 15);
    const image = 'pkg:oci/alpine@sha256:124c7d2707904eea7431fffe91522a01e5a861a624ee31d03372cc1d138a3126';
    const base = {
      ...cite(rel),
      format: 'OPENVEX',
      issuer: 'The OpenVEX Project <openvex@openssf.org>',
      timestamp: '2023-07-17T18:28:47.696004345-06:00',
    };
    const notAffected = {
      ...base,
      vulnerabilityId: 'CVE-2023-3446',
      status: 'not_affected',
      justification: 'vulnerable_code_not_present',
      impact: 'affected functions were removed before packaging',
      pointer: '/statements/3',
    };
    assert.deepEqual(
      statements.filter((s) => s.vulnerabilityId === 'CVE-2023-3446'),
      [
        { ...notAffected, product: image },
        { ...notAffected, product: 'pkg:apk/alpine/libssl3@3.0.8-r3' },
        { ...notAffected, product: 'pkg:apk/alpine/libcrypto3@3.0.8-r3' },
      ],
    );
    assert.deepEqual(statements[0], {
      ...base,
      vulnerabilityId: 'CVE-2023-1255',
      status: 'fixed',
      product: image,
      pointer: '/statements/0',
    });
  });

  test('0.0.1: string vulnerability and products, qualifiers kept as written, document timestamp', () => {
    const rel = 'openvex/go-vex-testdata/v0.0.1.json';
    const common = {
      ...cite(rel),
      format: 'OPENVEX',
      issuer: 'Wolfi J Inkinson',
      vulnerabilityId: 'CVE-2023-12345',
      status: 'fixed',
      timestamp: '2023-01-08T18:02:03.647787998-06:00',
      pointer: '/statements/0',
    };
    assert.deepEqual(statementsOf(rel), [
      { ...common, product: 'pkg:apk/wolfi/git@2.39.0-r1?arch=armv7' },
      { ...common, product: 'pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64' },
    ]);
  });

  test('the statement timestamp wins over the document one; action_statement is the action', () => {
    const [affected] = statementsOf('openvex/guac-testdata/open-vex-affected.json');
    assert.equal(affected?.action, 'This is a test action statement');
    assert.equal(affected?.status, 'affected');
    const [statement] = statementsOf('openvex/go-vex-testdata/v001-2.vex.json');
    assert.equal(statement?.timestamp, '2022-12-22T20:56:05-05:00');
  });

  test('Chainguard: a CGA name with CVE and GHSA aliases reads once per id, name first; identifiers.purl is the product', () => {
    const statements = statementsOf('openvex/chainguard-libraries-via-anchore-vunnel/pypi/urllib3.openvex.json');
    assert.deepEqual(
      statements.map((s) => `${s.vulnerabilityId} ${s.product}`),
      [
        'CGA-7qjw-ggh3-pp9f pkg:pypi/urllib3@1.26.16+cgr.0',
        'CGA-7qjw-ggh3-pp9f pkg:pypi/urllib3@1.26.16+cgr.1',
        'CVE-2023-45803 pkg:pypi/urllib3@1.26.16+cgr.0',
        'CVE-2023-45803 pkg:pypi/urllib3@1.26.16+cgr.1',
        'GHSA-g4mx-q9vg-27p4 pkg:pypi/urllib3@1.26.16+cgr.0',
        'GHSA-g4mx-q9vg-27p4 pkg:pypi/urllib3@1.26.16+cgr.1',
      ],
    );
    assert.ok(statements.every((s) => s.issuer === 'Chainguard Team' && s.pointer === '/statements/0'));
  });

  test('statements without a known status, and products that are neither purl nor CPE, state nothing', () => {
    const doc = {
      '@context': 'https://openvex.dev/ns/v0.2.0',
      author: 'A',
      statements: [
        { vulnerability: { name: 'CVE-2024-0001' }, products: [{ '@id': 'pkg:npm/a@1' }], status: 'maybe' },
        {
          vulnerability: { name: 'CVE-2024-0002' },
          products: [{ '@id': 'https://example.com/thing' }],
          status: 'fixed',
        },
        'not an object',
        {
          vulnerability: { name: 'CVE-2024-0003' },
          products: [
            { '@id': 'pkg:npm/b@1', identifiers: { purl: 'pkg:npm/b@1', cpe23: 'cpe:2.3:a:b:b:1:*:*:*:*:*:*:*' } },
          ],
          status: 'fixed',
        },
      ],
    };
    assert.deepEqual(
      readVexStatements(recordOf('openvex/x.json', ''), doc).map((s) => `${s.pointer} ${s.product}`),
      ['/statements/3 pkg:npm/b@1', '/statements/3 cpe:2.3:a:b:b:1:*:*:*:*:*:*:*'],
    );
    assert.deepEqual(readVexStatements(recordOf('openvex/x.json', ''), [doc]), []);
  });
});

/** A copy of a CSAF document whose product `id` carries a product_identification_helper. */
function withHelpers(doc: Record<string, unknown>, helpers: Record<string, Record<string, unknown>>) {
  const copy = structuredClone(doc);
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node !== null && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      const helper = typeof record.product_id === 'string' ? helpers[record.product_id] : undefined;
      if (helper !== undefined) record.product_identification_helper = helper;
      Object.values(record).forEach(visit);
    }
  };
  visit(copy.product_tree);
  return copy;
}

describe('CSAF VEX', () => {
  const redHat = 'csaf/redhat-vex-via-trivy-db/cve-2024-10041.json';

  test('Red Hat without product_status states nothing (remediations alone say no status)', () => {
    assert.deepEqual(statementsOf(redHat), []);
  });

  test('relationship products are identified by their component purl; remediation and impact per product', () => {
    const doc = parsed(redHat);
    const vulnerability = (doc.vulnerabilities as Array<Record<string, unknown>>)[0]!;
    vulnerability.product_status = {
      fixed: ['BaseOS-9.5.0.Z.MAIN:pam-0:1.5.1-21.el9_5.x86_64', 'BaseOS-9.5.0.Z.MAIN:pam-0:1.5.1-21.el9_5.aarch64'],
      known_affected: ['red_hat_enterprise_linux_7:pam', 'BaseOS-9.5.0.Z.MAIN'],
    };
    const common = {
      ...cite(redHat),
      format: 'CSAF_VEX',
      issuer: 'Red Hat Product Security',
      vulnerabilityId: 'CVE-2024-10041',
      timestamp: '2024-12-18T09:14:23Z',
    };
    const fix = {
      ...common,
      status: 'fixed',
      impact: 'Moderate',
      action: 'For details on how to apply this update, refer to: https://access.redhat.com/articles/11258',
    };
    assert.deepEqual(statementsOf(redHat, doc), [
      {
        ...common,
        status: 'affected',
        product: 'cpe:/o:redhat:enterprise_linux:9::baseos',
        pointer: '/vulnerabilities/0/product_status/known_affected/1',
      },
      {
        ...fix,
        product: 'pkg:rpm/redhat/pam@1.5.1-21.el9_5?arch=x86_64',
        pointer: '/vulnerabilities/0/product_status/fixed/0',
      },
      {
        ...fix,
        product: 'pkg:rpm/redhat/pam@1.5.1-21.el9_5?arch=aarch64',
        pointer: '/vulnerabilities/0/product_status/fixed/1',
      },
    ]);
  });

  test('flags give the justification, impact threats the impact (Secvisogram not affected by Log4Shell)', () => {
    const rel = 'csaf/oasis-csaf-2.0-examples/csaf/csaf_vex/sec-vex-2022-0001.json';
    const doc = withHelpers(parsed(rel), {
      'CSAFPID-0001': { cpe: 'cpe:2.3:a:secvisogram:secvisogram:*:*:*:*:*:*:*:*' },
    });
    const statements = statementsOf(rel, doc);
    assert.deepEqual(
      statements.map((s) => s.vulnerabilityId),
      ['CVE-2021-44228', 'CVE-2021-45046', 'CVE-2021-45105'],
    );
    assert.deepEqual(statements[0], {
      ...cite(rel),
      format: 'CSAF_VEX',
      issuer: 'Secvisogram',
      vulnerabilityId: 'CVE-2021-44228',
      status: 'not_affected',
      justification: 'component_not_present',
      impact: 'Secvisogram is written in JavaScript. No Java is included.',
      product: 'cpe:2.3:a:secvisogram:secvisogram:*:*:*:*:*:*:*:*',
      timestamp: '2022-05-27T10:00:00.000Z',
      pointer: '/vulnerabilities/0/product_status/known_not_affected/0',
    });
  });

  test('every status key maps; recommended states nothing; groups carry flags (2.1 purls[] too)', () => {
    const rel = 'csaf/oasis-csaf-2.0-examples/csaf/csaf_vex/2022-evd-uc-08-001.json';
    const doc = withHelpers(parsed(rel), {
      'CSAFPID-0001': { purl: 'pkg:generic/example/abc@4.2' },
      'CSAFPID-0002': { purls: ['pkg:generic/example/abc@2.4', 'pkg:generic/example/abc-lite@2.4'] },
      'CSAFPID-0011': { purl: 'pkg:generic/example/jkl@5.2' },
    });
    const statements = statementsOf(rel, doc).filter((s) => s.vulnerabilityId === 'CVE-2021-44228');
    assert.deepEqual(
      statements.map((s) => [s.status, s.product, s.action ?? null, s.impact ?? null]),
      [
        [
          'not_affected',
          'pkg:generic/example/abc@4.2',
          null,
          'Class with vulnerable code was removed before shipping.',
        ],
        ['affected', 'pkg:generic/example/abc@2.4', 'Update to version 4.2 or later.', null],
        ['affected', 'pkg:generic/example/abc-lite@2.4', 'Update to version 4.2 or later.', null],
        ['fixed', 'pkg:generic/example/jkl@5.2', null, null],
      ],
    );
    const grouped = structuredClone(doc);
    const tree = grouped.product_tree as Record<string, unknown>;
    tree.product_groups = [{ group_id: 'G1', product_ids: ['CSAFPID-0001'] }];
    const first = (grouped.vulnerabilities as Array<Record<string, unknown>>)[0]!;
    first.flags = [{ label: 'vulnerable_code_not_in_execute_path', group_ids: ['G1'] }];
    const [flagged] = statementsOf(rel, grouped);
    assert.equal(flagged?.justification, 'vulnerable_code_not_in_execute_path');
  });
});

describe('CycloneDX VEX', () => {
  test('a BOM-Link whose fragment is a purl: the purl as written, the reference id as an alias', () => {
    const rel = 'cyclonedx-vex/bom-examples/vex.json';
    const common = {
      ...cite(rel),
      format: 'CYCLONEDX_VEX',
      issuer: 'test',
      status: 'not_affected',
      justification: 'code_not_reachable',
      impact:
        'Automated dataflow analysis and manual code review indicates that the vulnerable code is not reachable, either directly or indirectly.',
      action: 'will_not_fix, update',
      product: 'pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar',
      timestamp: '2021-10-26T00:00:00.000Z',
      pointer: '/vulnerabilities/0/affects/0',
    };
    assert.deepEqual(statementsOf(rel), [
      { ...common, vulnerabilityId: 'CVE-2020-25649' },
      { ...common, vulnerabilityId: 'SNYK-JAVA-COMFASTERXMLJACKSONCORE-1048302' },
    ]);
  });

  test('local bom-refs and BOM-Links into the same document resolve to the component purl and cpe', () => {
    const rel = 'cyclonedx-vex/bom-examples/CISA-Use-Cases/Case-1/vex-not_affected.json';
    const doc = parsed(rel);
    const metadata = doc.metadata as Record<string, Record<string, unknown>>;
    metadata.component!.purl = 'pkg:generic/example/abc@4.2';
    metadata.component!.cpe = 'cpe:2.3:a:example:abc:4.2:*:*:*:*:*:*:*';
    metadata.manufacturer = { name: 'Example Company' };
    const [statement, byCpe] = statementsOf(rel, doc);
    assert.deepEqual(statement, {
      ...cite(rel),
      format: 'CYCLONEDX_VEX',
      issuer: 'Example Company',
      vulnerabilityId: 'CVE-2021-44228',
      status: 'not_affected',
      justification: 'code_not_present',
      impact:
        'This version of Product ABC is not affected by the vulnerability. Class with vulnerable code was removed before shipping.',
      action: 'will_not_fix',
      product: 'pkg:generic/example/abc@4.2',
      timestamp: '2022-03-03T00:00:00Z',
      pointer: '/vulnerabilities/0/affects/0',
    });
    assert.equal(byCpe?.product, 'cpe:2.3:a:example:abc:4.2:*:*:*:*:*:*:*');

    const fp = 'cyclonedx-vex/guac-testdata/cyclonedx-vex-false-positive.json';
    const fpDoc = parsed(fp);
    (fpDoc.metadata as Record<string, Record<string, unknown>>).component!.purl = 'pkg:npm/test-app-2@1.0.0';
    // The first affects is `urn:uuid:<this serial>/1#test-component-2`; the second names a ref nobody defines.
    assert.deepEqual(
      statementsOf(fp, fpDoc).map((s) => [s.vulnerabilityId, s.status, s.product, s.pointer]),
      [['CVE-2024-0002', 'not_affected', 'pkg:npm/test-app-2@1.0.0', '/vulnerabilities/0/affects/0']],
    );
  });

  test('analysis states map to VEX statuses; no analysis states nothing', () => {
    const states: Array<[string, string]> = [
      ['exploitable', 'affected'],
      ['resolved', 'fixed'],
      ['resolved_with_pedigree', 'fixed'],
      ['in_triage', 'under_investigation'],
      ['false_positive', 'not_affected'],
      ['not_affected', 'not_affected'],
    ];
    for (const [state, status] of states) {
      const doc = {
        bomFormat: 'CycloneDX',
        specVersion: '1.6',
        components: [{ 'bom-ref': 'c', name: 'c', purl: 'pkg:npm/c@1.0.0' }],
        vulnerabilities: [{ id: 'CVE-2024-1111', analysis: { state }, affects: [{ ref: 'c' }] }],
      };
      assert.deepEqual(
        readVexStatements(recordOf('cdx.json', ''), doc).map((s) => s.status),
        [status],
        state,
      );
    }
    assert.deepEqual(statementsOf('cyclonedx-vex/guac-testdata/cyclonedx-vex-no-analysis.json'), []);
  });
});

describe('CycloneDX affects[].versions', () => {
  const doc = (versions: unknown[], purl = 'pkg:npm/c') => ({
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    components: [{ 'bom-ref': 'c', name: 'c', purl }],
    vulnerabilities: [{ id: 'CVE-2024-1111', analysis: { state: 'not_affected' }, affects: [{ ref: 'c', versions }] }],
  });
  const products = (d: unknown) => readVexStatements(recordOf('cdx.json', ''), d).map((s) => s.product);

  test('narrow a package-level purl to the versions listed; ranges alone name no version', () => {
    assert.deepEqual(products(doc([])), ['pkg:npm/c']);
    assert.deepEqual(
      products(
        doc([
          { version: '1.0.0', status: 'unaffected' },
          { range: 'vers:npm/>=2.0.0', status: 'unaffected' },
          { version: '1.1.0' },
        ]),
      ),
      ['pkg:npm/c@1.0.0', 'pkg:npm/c@1.1.0'],
    );
    assert.deepEqual(products(doc([{ range: 'vers:npm/>=2.0.0|<3.0.0', status: 'unaffected' }])), []);
  });

  test('leave a versioned purl as written', () => {
    assert.deepEqual(products(doc([{ version: '9.9.9' }], 'pkg:npm/c@1.0.0')), ['pkg:npm/c@1.0.0']);
  });
});

describe('hostile documents', () => {
  test('a document that multiplies past the statement cap is skipped, not expanded', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `CVE-2024-${String(10000 + i)}`);
    const products = Array.from({ length: 1000 }, (_, i) => ({ '@id': `pkg:npm/p${i}@1.0.0` }));
    const raw = JSON.stringify({
      '@context': 'https://openvex.dev/ns/v0.2.0',
      statements: [{ vulnerability: { name: 'CVE-2024-0001', aliases: ids }, products, status: 'not_affected' }],
    });
    assert.ok(ids.length * products.length > MAX_STATEMENTS_PER_DOCUMENT);
    const skipped: SkippedVexRecord[] = [];
    const record = { ...recordOf('openvex/hostile.json', raw), recordId: 'hostile' };
    assert.deepEqual(readVexRecords([record], undefined, skipped), []);
    assert.deepEqual(
      skipped.map((s) => s.recordId),
      ['hostile'],
    );
    assert.match(skipped[0]!.reason, /more than 200000 statements/);
  });

  test('CSAF relationship chains resolve through nested relationships and stop on cycles', () => {
    const doc = {
      document: { category: 'csaf_vex', csaf_version: '2.0', publisher: { name: 'P' }, tracking: {} },
      product_tree: {
        full_product_names: [
          { product_id: 'lib', name: 'lib', product_identification_helper: { purl: 'pkg:npm/lib@1.0.0' } },
        ],
        relationships: [
          {
            product_reference: 'lib',
            relates_to_product_reference: 'app',
            full_product_name: { product_id: 'app:lib', name: 'x' },
          },
          {
            product_reference: 'app:lib',
            relates_to_product_reference: 'os',
            full_product_name: { product_id: 'os:app:lib', name: 'y' },
          },
          {
            product_reference: 'loop-b',
            relates_to_product_reference: 'x',
            full_product_name: { product_id: 'loop-a', name: 'a' },
          },
          {
            product_reference: 'loop-a',
            relates_to_product_reference: 'x',
            full_product_name: { product_id: 'loop-b', name: 'b' },
          },
        ],
      },
      vulnerabilities: [
        { cve: 'CVE-2024-2222', product_status: { known_not_affected: ['os:app:lib', 'loop-a', 'unknown'] } },
      ],
    };
    assert.deepEqual(
      readVexStatements(recordOf('csaf/x.json', ''), doc).map((s) => [s.product, s.pointer]),
      [['pkg:npm/lib@1.0.0', '/vulnerabilities/0/product_status/known_not_affected/0']],
    );
  });
});

describe('readVexRecords never throws', () => {
  test('a malformed, a too-deep and a non-object document are skipped and counted; the rest still reads', () => {
    const good = recordOf('openvex/guac-testdata/open-vex-affected.json');
    const withBom = { ...good, recordId: 'bom', raw: `\uFEFF${good.raw}` };
    const malformed = { ...good, recordId: 'malformed', raw: '{"statements": [' };
    const deep = { ...good, recordId: 'deep', raw: `${'['.repeat(40)}${']'.repeat(40)}` };
    const unknown = { ...good, recordId: 'unknown', format: 'OSV' };
    const skipped: SkippedVexRecord[] = [];
    const statements: VexStatement[] = readVexRecords(
      [malformed, good, deep, unknown, withBom],
      { maxDepth: 16, maxStringLength: 1024 * 1024, maxKeys: 1000 },
      skipped,
    );
    assert.deepEqual(
      statements.map((s) => s.recordId),
      [good.recordId, 'bom'],
    );
    assert.deepEqual(
      skipped.map((s) => s.recordId),
      ['malformed', 'deep'],
    );
    assert.match(skipped[1]!.reason, /deeper than 16/);
    assert.doesNotThrow(() => readVexRecords([malformed]));
  });
});
