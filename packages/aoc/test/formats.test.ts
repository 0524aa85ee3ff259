// SPDX-License-Identifier: Apache-2.0
// Format recognisers and linkset extractors against every real upstream fixture, plus the strict
// JSON reader's refusals and the purl/CPE canonical forms the linkset joins on.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { StellaError } from '@stella/core';
import { advisoryFixtures } from '@stella/testkit';
import {
  canonicalPurl,
  cpe23,
  packageLevelPurl,
  parseStrictJson,
  purlForEcosystem,
  recognise,
  validateSchema,
} from '../src/formats/index.ts';
import type { ContentFormat, Recognised } from '../src/formats/types.ts';

const FIXTURES = advisoryFixtures();
const MALFORMED = [
  'ghsa/via-trivy-db/sad-legacy-api-shape-GHSA-wjx8-cgrm-hh8p.json',
  'osv-misc/pysec-via-trivy-db/sad-PYSEC-2005-1.json',
];

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}

/** Not upstream advisories: licenses, notes, manifests, schemas and CSAF distribution metadata. */
function isDocumentation(rel: string): boolean {
  const name = basename(rel);
  return (
    /^(LICENSE|NOTICE|README|PROVENANCE)/i.test(name) ||
    name === 'MANIFEST.tsv' ||
    name.endsWith('.md') ||
    rel.startsWith('schemas/') ||
    /\/(ROLIE|aggregator|provider-metadata)\//.test(rel)
  );
}

/** The SBOMs the CycloneDX VEX examples point at (bom.json, bom-N.json): no vulnerabilities[]. */
function isCycloneDxSbom(rel: string): boolean {
  return rel.startsWith('cyclonedx-vex/') && /^bom(-\d+)?\.json$/.test(basename(rel));
}

const all = [...walk(FIXTURES)].map((path) => relative(FIXTURES, path)).sort();
const documents = all.filter((rel) => !isDocumentation(rel) && !isCycloneDxSbom(rel) && !MALFORMED.includes(rel));
const sboms = all.filter(isCycloneDxSbom);

function read(rel: string): unknown {
  return parseStrictJson(readFileSync(join(FIXTURES, rel)));
}

const recognised = new Map<string, Recognised>();
for (const rel of documents) recognised.set(rel, recognise(read(rel)));

function get(rel: string): Recognised {
  const found = recognised.get(rel);
  assert.ok(found, `${rel} was recognised`);
  return found;
}

function throwsCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof StellaError, `a StellaError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (message) assert.match(error.message, message);
    return true;
  });
}

function resolvePointer(doc: unknown, pointer: string): unknown {
  let node = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    assert.ok(node !== null && typeof node === 'object', `pointer ${pointer} walks into an object`);
    assert.ok(Object.hasOwn(node, key), `pointer ${pointer}: ${key} exists`);
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

describe('fixture corpus', () => {
  it('recognises every upstream document with an upstream id (CycloneDX without serialNumber: none)', () => {
    const byFormat: Partial<Record<ContentFormat, number>> = {};
    let unnamed = 0;
    for (const [rel, result] of recognised) {
      if (result.format === 'CYCLONEDX_VEX' && result.upstreamId === '') unnamed++;
      else assert.notEqual(result.upstreamId.trim(), '', `${rel} has an upstream id`);
      assert.notEqual(result.specVersion, '', `${rel} has a spec version`);
      byFormat[result.format] = (byFormat[result.format] ?? 0) + 1;
    }
    assert.equal(documents.length, 371);
    assert.deepEqual(byFormat, { OSV: 256, CSAF: 12, CSAF_VEX: 16, CVE5: 22, NVD: 23, OPENVEX: 12, CYCLONEDX_VEX: 30 });
    assert.equal(unnamed, 28);
  });

  it('puts VEX formats in the vex store and the rest in the advisory store', () => {
    for (const [rel, result] of recognised) {
      const vex = result.format === 'OPENVEX' || result.format === 'CSAF_VEX' || result.format === 'CYCLONEDX_VEX';
      assert.equal(result.kind, vex ? 'vex' : 'advisory', rel);
    }
  });

  it('refuses the two malformed upstream files as malformed, naming the position', () => {
    throwsCode(() => read(MALFORMED[0] ?? ''), 'ERR_AOC_MALFORMED_DOCUMENT', /^malformed JSON at line 68 column 1: /);
    throwsCode(() => read(MALFORMED[1] ?? ''), 'ERR_AOC_MALFORMED_DOCUMENT', /^malformed JSON at line 9 column 3: /);
  });

  it('does not take a CycloneDX SBOM for VEX', () => {
    assert.equal(sboms.length, 14);
    for (const rel of sboms) throwsCode(() => recognise(read(rel)), 'ERR_AOC_UNRECOGNISED_FORMAT', /SBOM/);
  });

  it('annotates schema validity as the fixture README counts it', () => {
    const tally = new Map<string, [number, number, number]>();
    for (const result of recognised.values()) {
      const key = `${result.format}:${result.schema.schema}`;
      const counts = tally.get(key) ?? [0, 0, 0];
      counts[result.schema.valid === true ? 0 : result.schema.valid === false ? 1 : 2] += 1;
      tally.set(key, counts);
      assert.ok(result.schema.errors.length <= 20);
      assert.equal(result.schema.valid === false, result.schema.errors.length > 0);
    }
    const osv = tally.get('OSV:osv');
    assert.deepEqual(osv, [253, 3, 0]);
    const csaf = [tally.get('CSAF:csaf-2.0') ?? [0, 0, 0], tally.get('CSAF_VEX:csaf-2.0') ?? [0, 0, 0]];
    assert.deepEqual([(csaf[0]?.[0] ?? 0) + (csaf[1]?.[0] ?? 0), (csaf[0]?.[1] ?? 0) + (csaf[1]?.[1] ?? 0)], [24, 1]);
    // CSAF 2.1 has no bundled schema yet.
    assert.deepEqual((tally.get('CSAF:null')?.[2] ?? 0) + (tally.get('CSAF_VEX:null')?.[2] ?? 0), 3);
    assert.deepEqual(tally.get('OPENVEX:openvex'), [2, 10, 0]);
    assert.deepEqual(tally.get('CVE5:null'), [0, 0, 22]);
    assert.deepEqual(tally.get('NVD:null'), [0, 0, 23]);
    // 30 VEX documents plus the 14 SBOMs they refer to: 44 valid against CycloneDX 1.6.
    const sbomValid = sboms.filter((rel) => validateSchema('CYCLONEDX_VEX', '1.4', read(rel)).valid === true).length;
    assert.deepEqual(tally.get('CYCLONEDX_VEX:cyclonedx-1.6'), [30, 0, 0]);
    assert.equal(sbomValid, 14);
  });

  it('names the schema failures the README lists', () => {
    const invalid = [...recognised]
      .filter(([, r]) => r.schema.valid === false && r.format !== 'OPENVEX')
      .map(([rel]) => basename(rel))
      .sort();
    assert.deepEqual(invalid, [
      'GHSA-f5pg-7wfw-84q9.json',
      'PYSEC-2026-2.json',
      'cve-2024-10041.json',
      'nointroduced-CVE-2023-41045.json',
    ]);
    assert.deepEqual(get('ghsa/via-trivy-db/GHSA-f5pg-7wfw-84q9.json').schema.errors[0]?.pointer, '/severity/0/score');
  });

  it('keeps linkset arrays sorted and unique, with every pointer resolving inside the document', () => {
    for (const [rel, result] of recognised) {
      const { linkset } = result;
      for (const list of [linkset.purls, linkset.cpes, linkset.aliases, linkset.reconciled_from]) {
        assert.deepEqual(list, [...new Set(list)].sort(), rel);
      }
      const refs = linkset.references.map((r) => `${r.url} ${r.type}`);
      assert.equal(new Set(refs).size, refs.length, rel);
      const doc = read(rel);
      for (const pointer of linkset.reconciled_from) resolvePointer(doc, pointer);
      for (const entry of linkset.symbols) {
        assert.ok(Array.isArray(resolvePointer(doc, entry.pointer)), `${rel} ${entry.pointer}`);
        assert.ok(linkset.reconciled_from.includes(entry.pointer));
      }
      for (const purl of linkset.purls) assert.match(purl, /^pkg:[a-z.+-][a-z0-9.+-]*\/[^?#]+$/, rel);
      for (const cpe of linkset.cpes) assert.match(cpe, /^cpe:2\.3:/, rel);
    }
  });

  it('is deterministic: the same bytes give the same result', () => {
    const rel = 'csaf/redhat-via-anchore-vunnel/rhsa-2024_6163.json';
    assert.deepEqual(recognise(read(rel)), get(rel));
  });
});

describe('cross-source joins', () => {
  function withAlias(alias: string): string[] {
    return [...recognised].filter(([, r]) => r.linkset.aliases.includes(alias)).map(([rel]) => rel);
  }

  it('joins CVE-2021-44228 across GHSA, CVE 5, CSAF and CycloneDX', () => {
    const found = withAlias('CVE-2021-44228');
    assert.ok(
      found.includes(
        'ghsa/advisory-database/advisories/github-reviewed/2021/12/GHSA-jfh8-c2jp-5v3q/GHSA-jfh8-c2jp-5v3q.json',
      ),
    );
    assert.ok(found.includes('cve5/CVE-2021-44228.json'));
    assert.ok(found.includes('csaf/oasis-csaf-2.0-examples/csaf/csaf_vex/2022-evd-uc-01-a-001.json'));
    assert.ok(found.includes('cyclonedx-vex/bom-examples/CISA-Use-Cases/Case-1/vex-affected.json'));
    const formats = new Set(found.map((rel) => get(rel).format));
    assert.deepEqual([...formats].sort(), ['CSAF_VEX', 'CVE5', 'CYCLONEDX_VEX', 'OSV']);
  });

  it('joins CVE-2023-45288 between the GHSA and Go vulndb', () => {
    const found = withAlias('CVE-2023-45288');
    assert.ok(found.includes('ghsa/via-trivy-db/GHSA-4v7x-pqxf-cx7m.json'));
    assert.ok(found.includes('osv-go/current/GO-2024-2687.json'));
    assert.ok(get('osv-go/current/GO-2024-2687.json').linkset.aliases.includes('GHSA-4v7x-pqxf-cx7m'));
  });

  it('joins CVE-2023-45803 between CVE 5 (GHSA in a reference URL) and the Chainguard OpenVEX', () => {
    const cve = get('cve5/CVE-2023-45803.json');
    assert.ok(cve.linkset.aliases.includes('GHSA-g4mx-q9vg-27p4'));
    const vex = get('openvex/chainguard-libraries-via-anchore-vunnel/pypi/urllib3.openvex.json');
    assert.ok(vex.linkset.aliases.includes('CVE-2023-45803'));
    assert.ok(vex.linkset.aliases.includes('GHSA-g4mx-q9vg-27p4'));
    assert.deepEqual(vex.linkset.purls.slice(0, 2), [
      'pkg:pypi/urllib3@1.26.16%2Bcgr.0',
      'pkg:pypi/urllib3@1.26.16%2Bcgr.1',
    ]);
  });
});

describe('per-format extraction', () => {
  it('extracts Go vulndb symbols with their pointer and package-level purl', () => {
    const result = get('osv-go/current/GO-2021-0097.json');
    assert.deepEqual(result.linkset.symbols, [
      {
        package: 'pkg:golang/github.com/dhowden/tag',
        path: 'github.com/dhowden/tag',
        symbols: [
          'ReadAtoms',
          'ReadDSFTags',
          'ReadFrom',
          'ReadID3v2Tags',
          'metadataMP4.readAtomData',
          'readAPICFrame',
          'readPICFrame',
          'readTextWithDescrFrame',
        ],
        pointer: '/affected/0/ecosystem_specific/imports/0/symbols',
      },
    ]);
    assert.deepEqual(result.linkset.purls, ['pkg:golang/github.com/dhowden/tag']);
    assert.equal(result.upstreamId, 'GO-2021-0097');
    assert.equal(result.documentVersion, '0001-01-01T00:00:00Z');
    assert.equal(result.specVersion, '1.3.1');
    assert.deepEqual(result.identifiers.cve, ['CVE-2020-29242', 'CVE-2020-29243', 'CVE-2020-29244', 'CVE-2020-29245']);
    assert.ok(result.linkset.reconciled_from.includes('/affected/0/package/name'));
  });

  it('extracts affected_functions of a GHSA', () => {
    const result = get(
      'ghsa/advisory-database/advisories/github-reviewed/2023/05/GHSA-j8r2-6x86-q33q/GHSA-j8r2-6x86-q33q.json',
    );
    assert.deepEqual(result.linkset.symbols, [
      {
        package: 'pkg:pypi/requests',
        symbols: ['requests.sessions.SessionRedirectMixin.rebuild_proxies'],
        pointer: '/affected/0/ecosystem_specific/affected_functions',
      },
    ]);
    assert.deepEqual(result.identifiers, {
      cve: ['CVE-2023-32681'],
      ghsa: ['GHSA-j8r2-6x86-q33q'],
      aliases: ['CVE-2023-32681'],
    });
  });

  it('records withdrawal whatever its date, and never for CSAF', () => {
    assert.equal(get('osv-misc/pysec-via-trivy-db/withdrawn_after_now.json').withdrawn, true);
    assert.equal(get('osv-misc/pysec-via-trivy-db/PYSEC-2023-73.json').withdrawn, true);
    assert.equal(get('osv-misc/pysec-via-trivy-db/PYSEC-2018-27.json').withdrawn, false);
    const goWithdrawn = [...recognised].filter(([rel, r]) => rel.startsWith('osv-go/current/') && r.withdrawn);
    assert.equal(goWithdrawn.length, 17);
    for (const [rel, r] of recognised)
      if (r.format === 'CSAF' || r.format === 'CSAF_VEX') assert.equal(r.withdrawn, false, rel);
  });

  it('reads a rejected CVE 5 record and a rejected NVD entry as withdrawn', () => {
    const cve = structuredClone(read('cve5/CVE-2021-44228.json')) as { cveMetadata: { state: string } };
    cve.cveMetadata.state = 'REJECTED';
    assert.equal(recognise(cve).withdrawn, true);
    const nvd = structuredClone(read('nvd-api-2.0/CVE-2024-3094.json')) as {
      vulnerabilities: Array<{ cve: { vulnStatus: string } }>;
    };
    const first = nvd.vulnerabilities[0];
    assert.ok(first);
    first.cve.vulnStatus = 'Rejected';
    assert.equal(recognise(nvd).withdrawn, true);
  });

  it('turns Red Hat CSAF CPE 2.2 URIs into CPE 2.3 and strips purl qualifiers', () => {
    const result = get('csaf/redhat-via-anchore-vunnel/rhsa-2024_6163.json');
    assert.equal(result.upstreamId, 'RHSA-2024:6163');
    assert.equal(result.documentVersion, '3');
    assert.ok(result.linkset.cpes.includes('cpe:2.3:a:redhat:enterprise_linux:9:*:appstream:*:*:*:*:*'));
    assert.ok(result.linkset.cpes.includes('cpe:2.3:o:redhat:enterprise_linux:9:*:baseos:*:*:*:*:*'));
    assert.deepEqual(result.linkset.purls, ['pkg:rpm/redhat/python3.9@3.9.18-3.el9_4.5']);
    assert.ok(result.linkset.aliases.includes('CVE-2024-8088'));
  });

  it('reads NVD configurations and CVE 5 cpes', () => {
    const nvd = get('nvd-api-2.0/CVE-2024-3094.json');
    assert.equal(nvd.upstreamId, 'CVE-2024-3094');
    assert.equal(nvd.specVersion, '2.0');
    assert.deepEqual(nvd.linkset.cpes, [
      'cpe:2.3:a:tukaani:xz:5.6.0:*:*:*:*:*:*:*',
      'cpe:2.3:a:tukaani:xz:5.6.1:*:*:*:*:*:*:*',
    ]);
    assert.ok(
      nvd.linkset.reconciled_from.includes('/vulnerabilities/0/cve/configurations/0/nodes/0/cpeMatch/0/criteria'),
    );
    const cve = get('cve5/CVE-2024-3094.json');
    assert.equal(cve.specVersion, '5.2');
    assert.equal(cve.linkset.cpes.length, 6);
  });

  it('dates OpenVEX by its @context, and by shape when the context is empty', () => {
    assert.equal(get('openvex/go-vex-testdata/v0.0.1.json').specVersion, '0.0.1');
    assert.equal(get('openvex/go-vex-testdata/v0.2.0.json').specVersion, '0.2.0');
    assert.equal(get('openvex/go-vex-testdata/v001-1.vex.json').specVersion, '0.0.1');
    assert.equal(get('openvex/guac-testdata/open-vex-affected.json').specVersion, '0.2.0');
    const old = get('openvex/go-vex-testdata/v0.0.1.json');
    assert.equal(old.documentVersion, '1');
    assert.deepEqual(old.linkset.purls, ['pkg:apk/wolfi/git@2.39.0-r1']);
    assert.deepEqual(old.linkset.reconciled_from, [
      '/statements/0/products/0',
      '/statements/0/products/1',
      '/statements/0/vulnerability',
    ]);
    const nested = get('openvex/guac-testdata/open-vex-not-affected.json');
    assert.ok(nested.linkset.purls.includes('pkg:apk/alpine/git@2.38.1-r0'));
  });

  it('names a CycloneDX VEX by serialNumber, else leaves the id to the writer', () => {
    assert.equal(
      get('cyclonedx-vex/guac-testdata/cyclonedx-vex-false-positive.json').upstreamId,
      'urn:uuid:4e671687-395b-41f5-a30f-a58921a69b80',
    );
    const bare = get('cyclonedx-vex/bom-examples/CISA-Use-Cases/Case-1/vex-affected.json');
    assert.equal(bare.upstreamId, '');
    assert.equal(bare.documentVersion, '1');
  });

  it('resolves CycloneDX affects[].ref to the component purl', () => {
    const doc = {
      bomFormat: 'CycloneDX',
      specVersion: '1.5',
      serialNumber: 'urn:uuid:00000000-0000-4000-8000-000000000001',
      version: 2,
      components: [{ 'bom-ref': 'lib', type: 'library', name: 'x', purl: 'pkg:npm/%40scope/x@1.0.0?foo=bar' }],
      vulnerabilities: [
        {
          id: 'GHSA-23RX-79R7-6CPX',
          affects: [{ ref: 'lib' }, { ref: 'urn:cdx:other/1#missing' }],
          references: [{ id: 'not an id' }],
        },
      ],
    };
    const result = recognise(doc);
    assert.deepEqual(result.linkset.purls, ['pkg:npm/%40scope/x@1.0.0']);
    assert.deepEqual(result.linkset.aliases, ['GHSA-23rx-79r7-6cpx']);
    assert.deepEqual(result.linkset.reconciled_from, [
      '/components/0/purl',
      '/vulnerabilities/0/affects/0/ref',
      '/vulnerabilities/0/id',
    ]);
    assert.equal(result.documentVersion, '2');
  });

  it('takes the purl a BOM-Link points at when the SBOM it names is not in the document', () => {
    // CycloneDX's own example: the VEX names jackson-databind only as `urn:cdx:<sbom>/1#<purl>`.
    for (const rel of [
      'cyclonedx-vex/bom-examples/vex.json',
      'cyclonedx-vex/guac-testdata/cyclonedx-unaffected-vex.json',
    ]) {
      const result = get(rel);
      assert.deepEqual(result.linkset.purls, ['pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0'], rel);
      assert.ok(result.linkset.reconciled_from.includes('/vulnerabilities/0/affects/0/ref'), rel);
    }
    // A fragment that is not a purl (a local bom-ref of another BOM) names nothing.
    assert.deepEqual(get('cyclonedx-vex/bom-examples/Use-Cases/Case-6/vex.json').linkset.purls, []);
  });
});

describe('recognise refusals', () => {
  it('names what it looked for', () => {
    throwsCode(
      () => recognise({ hello: 'world' }),
      'ERR_AOC_UNRECOGNISED_FORMAT',
      /looked for .*CSAF.*OSV.*got an object with keys hello/,
    );
    throwsCode(() => recognise([1, 2]), 'ERR_AOC_UNRECOGNISED_FORMAT', /got a JSON array/);
    throwsCode(() => recognise('x'), 'ERR_AOC_UNRECOGNISED_FORMAT', /got a JSON string/);
  });

  it('holds a hint to its format', () => {
    const osv = read('osv-go/current/GO-2021-0097.json');
    assert.equal(recognise(osv, { format: 'OSV' }).format, 'OSV');
    throwsCode(() => recognise(osv, { format: 'CSAF' }), 'ERR_AOC_UNRECOGNISED_FORMAT', /document\.csaf_version/);
  });

  it('leaves a document without an id of its own to the writer to name', () => {
    assert.equal(recognise({ id: '  ', modified: '2024-01-01T00:00:00Z' }).upstreamId, '');
  });

  it('refuses an NVD page with more than one CVE', () => {
    const page = {
      format: 'NVD_CVE',
      version: '2.0',
      vulnerabilities: [{ cve: { id: 'CVE-1' } }, { cve: { id: 'CVE-2' } }],
    };
    throwsCode(() => recognise(page), 'ERR_AOC_002', /holds 2 CVEs/);
  });
});

describe('parseStrictJson', () => {
  const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

  it('refuses duplicate keys with the pointer of the second one', () => {
    throwsCode(
      () => parseStrictJson(bytes('{"a":1,"a":2}')),
      'ERR_AOC_MALFORMED_DOCUMENT',
      /^duplicate key "a" at \/a$/,
    );
    throwsCode(
      () => parseStrictJson(bytes('{"x":[{"b":1},{"c":{"d/e~":1,"d/e~":2}}]}')),
      'ERR_AOC_MALFORMED_DOCUMENT',
      /^duplicate key "d\/e~" at \/x\/1\/c\/d~1e~0$/,
    );
    // Equal after unescaping is still a duplicate.
    throwsCode(() => parseStrictJson(bytes('{"a":1,"\\u0061":2}')), 'ERR_AOC_MALFORMED_DOCUMENT', /duplicate key "a"/);
  });

  it('accepts equal keys in different objects and key-like text inside strings', () => {
    assert.deepEqual(parseStrictJson(bytes('[{"a":1},{"a":2}]')), [{ a: 1 }, { a: 2 }]);
    assert.deepEqual(parseStrictJson(bytes('{"a":"\\"a\\":","b":{"a":1}}')), { a: '"a":', b: { a: 1 } });
  });

  it('names the byte of invalid UTF-8', () => {
    const bad = new Uint8Array([...bytes('{"a":"'), 0xc3, 0x28, ...bytes('"}')]);
    throwsCode(() => parseStrictJson(bad), 'ERR_AOC_MALFORMED_DOCUMENT', /^invalid UTF-8 at byte 7$/);
    const lone = new Uint8Array([...bytes('{"a":"'), 0xff, ...bytes('"}')]);
    throwsCode(() => parseStrictJson(lone), 'ERR_AOC_MALFORMED_DOCUMENT', /^invalid UTF-8 at byte 6$/);
  });

  it('skips a UTF-8 byte order mark', () => {
    assert.deepEqual(parseStrictJson(new Uint8Array([0xef, 0xbb, 0xbf, ...bytes('{"é":1}')])), { é: 1 });
  });

  it('names line and column of truncated or broken JSON', () => {
    throwsCode(
      () => parseStrictJson(bytes('{\n  "a": [1,\n')),
      'ERR_AOC_MALFORMED_DOCUMENT',
      /^malformed JSON at line 3 column 1: /,
    );
    throwsCode(
      () => parseStrictJson(bytes('{\n  "a": tru\n}')),
      'ERR_AOC_MALFORMED_DOCUMENT',
      /^malformed JSON at line 2 column \d+: /,
    );
    throwsCode(() => parseStrictJson(bytes('')), 'ERR_AOC_MALFORMED_DOCUMENT', /^malformed JSON at line 1 column 1: /);
  });
});

describe('purl and CPE canonical forms', () => {
  it('strips qualifiers and subpath and keeps namespace encoding canonical', () => {
    assert.equal(
      canonicalPurl('pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar#sub/path'),
      'pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1',
    );
    assert.equal(canonicalPurl('pkg:npm/%40angular/core@1.0.0?x=y'), 'pkg:npm/%40angular/core@1.0.0');
    assert.equal(canonicalPurl('pkg:npm/@angular/core@1.0.0'), 'pkg:npm/%40angular/core@1.0.0');
    assert.equal(canonicalPurl('PKG:PyPI/Django_Rest@3.0'), 'pkg:pypi/django-rest@3.0');
    assert.equal(canonicalPurl('pkg:golang/github.com/Foo/Bar@v1.2.3'), 'pkg:golang/github.com/Foo/Bar@v1.2.3');
    assert.equal(canonicalPurl('pkg:oci/git@sha256%3A23a2?repository_url=x'), 'pkg:oci/git@sha256:23a2');
    assert.equal(canonicalPurl('pkg:pypi/urllib3@1.26.16+cgr.0'), 'pkg:pypi/urllib3@1.26.16%2Bcgr.0');
  });

  it('skips what is not a purl', () => {
    assert.equal(canonicalPurl('npm/left-pad'), null);
    assert.equal(canonicalPurl('pkg:npm'), null);
    assert.equal(canonicalPurl('pkg:npm/%E0%A4%A'), null);
    assert.equal(canonicalPurl('pkg:1bad/x'), null);
    assert.equal(canonicalPurl('pkg:user:pass@npm/x'), null);
  });

  it("applies packageurl-js's per-type rules and skips what it refuses", () => {
    assert.equal(canonicalPurl('pkg:pub/Flutter-Foo@1.0.0'), 'pkg:pub/flutter_foo@1.0.0');
    assert.equal(
      canonicalPurl('pkg:deb/debian/OpenSSL@3.0.11-1~deb12u2?arch=amd64'),
      'pkg:deb/debian/openssl@3.0.11-1~deb12u2',
    );
    assert.equal(
      canonicalPurl('pkg:huggingface/microsoft/deberta@559062AD'),
      'pkg:huggingface/microsoft/deberta@559062ad',
    );
    // maven needs a namespace; a golang version starting with 'v' must be semver.
    assert.equal(canonicalPurl('pkg:maven/log4j-core@2.14.1'), null);
    assert.equal(canonicalPurl('pkg:golang/github.com/x/y@vbad'), null);
    // conan with a namespace is only valid with its user/channel qualifiers, which linksets strip.
    assert.equal(canonicalPurl('pkg:conan/openssl.org/openssl@3.0.0?user=bincrafters&channel=stable'), null);
  });

  it('percent-encodes the characters the spec does not permit literally, in every component', () => {
    assert.equal(
      canonicalPurl('pkg:golang/github.com/x/y@v1.2.3+incompatible'),
      'pkg:golang/github.com/x/y@v1.2.3%2Bincompatible',
    );
    assert.equal(canonicalPurl('pkg:generic/it%27s(x)@1!*'), 'pkg:generic/it%27s%28x%29@1%21%2A');
    assert.equal(canonicalPurl('pkg:generic/a%2Bb@1'), 'pkg:generic/a%2Bb@1');
    // The canonical form parses back to itself.
    for (const purl of [
      'pkg:pypi/urllib3@1.26.16%2Bcgr.0',
      'pkg:oci/git@sha256:23a2',
      'pkg:npm/%40angular/core@1.0.0',
    ]) {
      assert.equal(canonicalPurl(purl), purl);
    }
  });

  it('cuts the package-level purl from the versioned form', () => {
    assert.equal(packageLevelPurl('pkg:npm/%40angular/core@1.0.0?x=y'), 'pkg:npm/%40angular/core');
    assert.equal(packageLevelPurl('pkg:pypi/urllib3@1.26.16+cgr.0'), 'pkg:pypi/urllib3');
    // cran and swift need a version to be valid purls; their package-level key still exists.
    assert.equal(packageLevelPurl('pkg:cran/A3@1.0.0'), 'pkg:cran/A3');
    assert.equal(
      packageLevelPurl('pkg:swift/github.com/Alamofire/Alamofire@5.4.3'),
      'pkg:swift/github.com/Alamofire/Alamofire',
    );
    assert.equal(packageLevelPurl('pkg:cran/A3'), null);
    assert.equal(packageLevelPurl('pkg:npm/left-pad'), 'pkg:npm/left-pad');
  });

  it('builds package-level purls for well-known OSV ecosystems only', () => {
    assert.equal(
      purlForEcosystem('Maven', 'org.apache.logging.log4j:log4j-core'),
      'pkg:maven/org.apache.logging.log4j/log4j-core',
    );
    assert.equal(purlForEcosystem('npm', '@babel/core'), 'pkg:npm/%40babel/core');
    assert.equal(purlForEcosystem('crates.io', 'zeroize'), 'pkg:cargo/zeroize');
    assert.equal(purlForEcosystem('Go', 'stdlib'), 'pkg:golang/stdlib');
    assert.equal(purlForEcosystem('Packagist', 'contao/core-bundle'), 'pkg:composer/contao/core-bundle');
    assert.equal(purlForEcosystem('RubyGems', 'rack'), 'pkg:gem/rack');
    assert.equal(purlForEcosystem('Debian:12', 'openssl'), null);
    assert.equal(purlForEcosystem('Maven', 'no-colon'), null);
    assert.equal(purlForEcosystem('Go', 'github.com//x'), null);
    assert.equal(purlForEcosystem('Pub', 'Flutter-Foo'), 'pkg:pub/flutter_foo');
  });

  it('binds CPE 2.2 URIs to CPE 2.3 and keeps 2.3 as given', () => {
    assert.equal(cpe23(' cpe:2.3:a:tukaani:xz:5.6.0:*:*:*:*:*:*:* '), 'cpe:2.3:a:tukaani:xz:5.6.0:*:*:*:*:*:*:*');
    assert.equal(
      cpe23('cpe:/a:csaf-tools:cvrf-csaf-converter:1.0.0-alpha'),
      'cpe:2.3:a:csaf-tools:cvrf-csaf-converter:1.0.0-alpha:*:*:*:*:*:*:*',
    );
    assert.equal(
      cpe23('cpe:/o:redhat:enterprise_linux:9::baseos'),
      'cpe:2.3:o:redhat:enterprise_linux:9:*:baseos:*:*:*:*:*',
    );
    assert.equal(cpe23('cpe:/a:foo%21:bar:-::~~~android~~'), 'cpe:2.3:a:foo\\!:bar:-:*:*:*:*:android:*:*');
    assert.equal(cpe23('not a cpe'), null);
  });
});
