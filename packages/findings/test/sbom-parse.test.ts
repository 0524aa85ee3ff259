// SPDX-License-Identifier: Apache-2.0
// SBOM reading on real documents: npm's own CycloneDX 1.5 and SPDX 2.3 output for examples/node-app
// (the two formats must read as the same tree), CycloneDX's published examples (1.3, Maven), and
// hand-made documents for every issue and refusal.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { advisoryFixtures } from '@stella/testkit';
import { parseSbom } from '../src/sbom/parse.ts';
import { lockfileEdges, NODE_APP_PURLS, nodeAppSbom } from './node-app.ts';

const read = (path: string | URL) => JSON.parse(readFileSync(path, 'utf8')) as unknown;
const example = (file: string) => JSON.parse(nodeAppSbom(file).toString('utf8')) as unknown;

// package-lock.json's tree: what both SBOMs must say.
const NODE_APP_EDGES = lockfileEdges();

/** Edges spelled with purls, so documents with different ref schemes compare. */
function purlEdges(sbom: ReturnType<typeof parseSbom>): string[] {
  const purlOf = new Map([sbom.root!, ...sbom.components].map((c) => [c.ref, c.purl]));
  return sbom.edges.map((e) => `${purlOf.get(e.from)} → ${purlOf.get(e.to)}`).sort();
}

describe('SBOMs written by npm', () => {
  for (const [file, format, specVersion] of [
    ['sbom.cdx.json', 'cyclonedx', '1.5'],
    ['sbom.spdx.json', 'spdx', 'SPDX-2.3'],
  ] as const) {
    test(`${file}: the app as root, 62 npm components by purl, the dependency tree, no issues`, () => {
      const sbom = parseSbom(example(file));
      assert.equal(sbom.format, format);
      assert.equal(sbom.specVersion, specVersion);
      assert.ok(sbom.documentId);
      assert.equal(sbom.root?.purl, 'pkg:npm/stella-example-node-app@1.0.0');
      assert.deepEqual(sbom.components.map((c) => c.purl).sort(), NODE_APP_PURLS);
      for (const c of sbom.components) {
        assert.equal(c.ecosystem, 'npm');
        assert.equal(c.identifiedBy, 'purl');
        assert.equal(`pkg:npm/${c.packageName}@${c.version}`, c.purl);
      }
      assert.deepEqual(purlEdges(sbom), NODE_APP_EDGES);
      assert.deepEqual(sbom.issues, []);
    });
  }
});

describe('CycloneDX published examples', () => {
  test('bom-examples/bom.json (1.3): Maven coordinates as OSV writes them', () => {
    const sbom = parseSbom(read(`${advisoryFixtures()}/cyclonedx-vex/bom-examples/bom.json`));
    assert.equal(sbom.specVersion, '1.3');
    const databind = sbom.components.find((c) => c.name === 'jackson-databind');
    assert.equal(databind?.ecosystem, 'Maven');
    assert.equal(databind?.packageName, 'com.fasterxml.jackson.core:jackson-databind');
    assert.equal(databind?.version, '2.10.0');
    assert.equal(databind?.purl, 'pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar');
  });
});

const cdx = (members: Record<string, unknown>) => ({ bomFormat: 'CycloneDX', specVersion: '1.6', ...members });

describe('issues are reported, the rest is read', () => {
  test('missing, invalid and unknown purls; name+version kept with lower confidence', () => {
    const sbom = parseSbom(
      cdx({
        components: [
          { 'bom-ref': 'a', name: 'leftpad', version: '1.0.0' },
          { 'bom-ref': 'b', name: 'weird', version: '1', purl: 'not-a-purl' },
          { 'bom-ref': 'c', name: 'thing', version: '2', purl: 'pkg:generic/thing@2' },
          { 'bom-ref': 'd', group: 'org.example', name: 'lib', version: '3' },
          { version: '9' },
        ],
      }),
    );
    assert.deepEqual(
      sbom.issues.map((i) => [i.kind, i.ref]),
      [
        ['unnamed-component', undefined],
        ['missing-purl', 'a'],
        ['invalid-purl', 'b'],
        ['unknown-ecosystem', 'c'],
        ['missing-purl', 'd'],
      ],
    );
    assert.deepEqual(
      sbom.components.map((c) => [c.ref, c.identifiedBy, c.packageName, c.ecosystem]),
      [
        ['a', 'name-version', 'leftpad', undefined],
        ['b', 'name-version', 'weird', undefined],
        ['c', 'purl', 'thing', undefined],
        ['d', 'name-version', 'org.example:lib', undefined],
      ],
    );
  });

  test('duplicate refs keep the first; a duplicate purl is kept and named; dangling edges dropped; cycles kept', () => {
    const sbom = parseSbom(
      cdx({
        metadata: { component: { 'bom-ref': 'app', name: 'app', version: '1', purl: 'pkg:npm/app@1' } },
        components: [
          { 'bom-ref': 'x', name: 'x', version: '1', purl: 'pkg:npm/x@1' },
          { 'bom-ref': 'x', name: 'x-again', version: '2', purl: 'pkg:npm/x@2' },
          { 'bom-ref': 'y', name: 'y', version: '1', purl: 'pkg:npm/x@1' },
        ],
        dependencies: [
          { ref: 'app', dependsOn: ['x', 'ghost'] },
          { ref: 'x', dependsOn: ['y', 'y'] },
          { ref: 'y', dependsOn: ['x'] },
        ],
      }),
    );
    assert.deepEqual(
      sbom.components.map((c) => c.ref),
      ['x', 'y'],
    );
    assert.deepEqual(
      sbom.edges.map((e) => `${e.from}>${e.to}`),
      ['app>x', 'x>y', 'y>x'],
    );
    assert.deepEqual(
      sbom.issues.map((i) => i.kind),
      ['duplicate-ref', 'duplicate-purl', 'dangling-edge', 'cycle'],
    );
  });

  test('nested components are flattened after their parent; refs are made up where absent', () => {
    const sbom = parseSbom(
      cdx({
        components: [
          { name: 'outer', version: '1', components: [{ name: 'inner', version: '1', purl: 'pkg:npm/inner@1' }] },
          { name: 'next', version: '1' },
        ],
      }),
    );
    assert.deepEqual(
      sbom.components.map((c) => [c.name, c.ref]),
      [
        ['outer', '#component-0'],
        ['inner', '#component-1'],
        ['next', '#component-2'],
      ],
    );
  });

  test('distribution purls name their release; an unknown distribution stays unknown', () => {
    const sbom = parseSbom(
      cdx({
        components: [
          {
            name: 'openssl',
            version: '3.0.11-1~deb12u2',
            purl: 'pkg:deb/debian/openssl@3.0.11-1~deb12u2?distro=debian-12',
          },
          { name: 'busybox', version: '1.36.1-r5', purl: 'pkg:apk/alpine/busybox@1.36.1-r5?distro=3.19' },
          { name: 'bash', version: '5.1-6', purl: 'pkg:rpm/redhat/bash@5.1-6' },
          { name: 'zlib', version: '1.2', purl: 'pkg:rpm/fedora/zlib@1.2' },
        ],
      }),
    );
    assert.deepEqual(
      sbom.components.map((c) => c.ecosystem),
      ['Debian:12', 'Alpine:3.19', 'Red Hat', undefined],
    );
    assert.deepEqual(
      sbom.issues.map((i) => i.kind),
      ['unknown-ecosystem'],
    );
  });

  test('a 100,000-component chain with a cycle back to the start reads without deep recursion', () => {
    const n = 100_000;
    const components = Array.from({ length: n }, (_, i) => ({ 'bom-ref': `c${i}`, name: `p${i}`, version: '1' }));
    const dependencies = components.map((_, i) => ({ ref: `c${i}`, dependsOn: [`c${(i + 1) % n}`] }));
    const sbom = parseSbom(cdx({ components, dependencies }));
    assert.equal(sbom.components.length, n);
    assert.equal(sbom.edges.length, n);
    assert.equal(sbom.issues.filter((i) => i.kind === 'cycle').length, 1);
  });
});

describe('CPEs for VEX by CPE', () => {
  test('CycloneDX component cpe and SPDX cpe23Type (else cpe22Type) externalRefs are read; absent stays absent', () => {
    const fromCdx = parseSbom(
      cdx({
        metadata: { component: { 'bom-ref': 'app', name: 'app', cpe: 'cpe:2.3:a:acme:app:1.0:*:*:*:*:*:*:*' } },
        components: [
          { 'bom-ref': 'a', name: 'openssl', version: '3.0.8', cpe: ' cpe:2.3:a:openssl:openssl:3.0.8:*:*:*:*:*:*:* ' },
          { 'bom-ref': 'b', name: 'zlib', version: '1.3', purl: 'pkg:generic/zlib@1.3' },
        ],
      }),
    );
    assert.equal(fromCdx.root?.cpe, 'cpe:2.3:a:acme:app:1.0:*:*:*:*:*:*:*');
    assert.equal(fromCdx.components[0]?.cpe, 'cpe:2.3:a:openssl:openssl:3.0.8:*:*:*:*:*:*:*');
    assert.ok(!('cpe' in fromCdx.components[1]!));
    const ref = (referenceType: string, referenceLocator: string) => ({
      referenceCategory: referenceType === 'purl' ? 'PACKAGE-MANAGER' : 'SECURITY',
      referenceType,
      referenceLocator,
    });
    const fromSpdx = parseSbom({
      spdxVersion: 'SPDX-2.3',
      SPDXID: 'SPDXRef-DOCUMENT',
      packages: [
        {
          SPDXID: 'SPDXRef-a',
          name: 'openssl',
          versionInfo: '3.0.8',
          externalRefs: [
            ref('cpe22Type', 'cpe:/a:openssl:openssl:3.0.8'),
            ref('cpe23Type', 'cpe:2.3:a:openssl:openssl:3.0.8:*:*:*:*:*:*:*'),
          ],
        },
        { SPDXID: 'SPDXRef-b', name: 'old', versionInfo: '1', externalRefs: [ref('cpe22Type', 'cpe:/a:x:old:1')] },
        { SPDXID: 'SPDXRef-c', name: 'none', versionInfo: '1', externalRefs: [ref('purl', 'pkg:npm/none@1')] },
      ],
    });
    assert.deepEqual(
      fromSpdx.components.map((c) => [c.ref, c.cpe]),
      [
        ['SPDXRef-a', 'cpe:2.3:a:openssl:openssl:3.0.8:*:*:*:*:*:*:*'],
        ['SPDXRef-b', 'cpe:/a:x:old:1'],
        ['SPDXRef-c', undefined],
      ],
    );
  });
});

describe('refusals', () => {
  for (const [what, doc, code] of [
    ['an array', [], 'ERR_SBOM_UNSUPPORTED'],
    ['neither format', { name: 'x' }, 'ERR_SBOM_UNSUPPORTED'],
    ['another bomFormat', { bomFormat: 'SWID', specVersion: '1.6' }, 'ERR_SBOM_UNSUPPORTED'],
    ['CycloneDX 2.0', { bomFormat: 'CycloneDX', specVersion: '2.0' }, 'ERR_SBOM_UNSUPPORTED'],
    ['CycloneDX without specVersion', { bomFormat: 'CycloneDX' }, 'ERR_SBOM_UNSUPPORTED'],
    ['SPDX 3.0', { spdxVersion: 'SPDX-3.0' }, 'ERR_SBOM_UNSUPPORTED'],
    ['components not a list', { bomFormat: 'CycloneDX', specVersion: '1.5', components: {} }, 'ERR_SBOM_INVALID'],
    ['packages not a list', { spdxVersion: 'SPDX-2.3', packages: 'x' }, 'ERR_SBOM_INVALID'],
  ] as const) {
    test(`${what}: ${code}`, () => {
      assert.throws(() => parseSbom(doc), { code });
    });
  }
});
