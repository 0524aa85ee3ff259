// SPDX-License-Identifier: Apache-2.0
// Which VEX statements speak about a finding: purls with and without versions, qualifiers, CPEs with
// wildcards, vulnerability ids and aliases, and the cases that must not match. Statements come from the
// real fixtures where one exists.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { advisoryFixtures } from '@stella/testkit';
import type { VexStatement } from '../src/evidence/model.ts';
import { applicableStatements, cpeMatches, readVexRecords } from '../src/vex/index.ts';

function fixtureStatements(rel: string, format: string): VexStatement[] {
  const raw = readFileSync(join(advisoryFixtures(), rel), 'utf8');
  const record = {
    recordId: `vex_raw:test:${rel}:1`,
    vendor: 'test',
    upstreamId: rel,
    revision: 1,
    contentHash: 'sha256:0',
    format,
    specVersion: '',
    aliases: [],
    packages: [],
    raw,
  };
  return readVexRecords([record]);
}

function statement(product: string, vulnerabilityId = 'CVE-2024-0001', pointer = '/statements/0'): VexStatement {
  return {
    recordId: 'vex_raw:t:doc:1',
    vendor: 't',
    upstreamId: 'doc',
    contentHash: 'sha256:0',
    format: 'OPENVEX',
    issuer: 'me',
    vulnerabilityId,
    status: 'not_affected',
    product,
    pointer,
  };
}

const cve = { id: 'CVE-2024-0001', aliases: [] };
const applies = (product: string, component: Parameters<typeof applicableStatements>[1], vuln = cve) =>
  applicableStatements([statement(product)], component, vuln).length === 1;

describe('purl products', () => {
  test('an unversioned product names every version; a versioned one that version only', () => {
    assert.ok(applies('pkg:npm/lodash', { purl: 'pkg:npm/lodash@4.17.20' }));
    assert.ok(applies('pkg:npm/lodash', { purl: 'pkg:npm/lodash' }));
    assert.ok(applies('pkg:npm/lodash@4.17.20', { purl: 'pkg:npm/lodash@4.17.20' }));
    assert.ok(!applies('pkg:npm/lodash@4.17.21', { purl: 'pkg:npm/lodash@4.17.20' }));
    assert.ok(!applies('pkg:npm/lodash@4.17.20', { purl: 'pkg:npm/lodash' }));
    // The SBOM's version stands in when the component purl has none.
    assert.ok(applies('pkg:npm/lodash@4.17.20', { purl: 'pkg:npm/lodash', version: '4.17.20' }));
    assert.ok(!applies('pkg:npm/lodash@4.17.20', { purl: 'pkg:npm/lodash', version: '4.17.2' }));
    // Versions compare as written: 1.0 is not 1.0.0.
    assert.ok(!applies('pkg:npm/x@1.0', { purl: 'pkg:npm/x@1.0.0' }));
  });

  test('type, namespace and name compare canonically; a different package never matches', () => {
    assert.ok(applies('pkg:npm/%40scope/x@1.0.0', { purl: 'pkg:npm/@scope/x@1.0.0' }));
    assert.ok(applies('pkg:PyPI/Django_Thing@1.0', { purl: 'pkg:pypi/django-thing@1.0' }));
    assert.ok(!applies('pkg:npm/%40scope/x', { purl: 'pkg:npm/x@1.0.0' }));
    assert.ok(!applies('pkg:npm/lodash', { purl: 'pkg:npm/lodash-es@4.17.20' }));
    assert.ok(!applies('pkg:npm/lodash', { purl: 'pkg:pypi/lodash@4.17.20' }));
    assert.ok(!applies('pkg:npm/lodash', { purl: 'not a purl' }));
  });

  test('qualifiers: ignored unless both sides give the same key different values', () => {
    assert.ok(applies('pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64', { purl: 'pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64' }));
    assert.ok(!applies('pkg:apk/wolfi/git@2.39.0-r1?arch=armv7', { purl: 'pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64' }));
    assert.ok(applies('pkg:apk/wolfi/git@2.39.0-r1?arch=armv7', { purl: 'pkg:apk/wolfi/git@2.39.0-r1' }));
    assert.ok(applies('pkg:apk/wolfi/git@2.39.0-r1', { purl: 'pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64&distro=x' }));
    assert.ok(
      applies('pkg:rpm/redhat/pam@1.5.1?arch=x86_64', { purl: 'pkg:rpm/redhat/pam@1.5.1?arch=x86_64&epoch=0' }),
    );
  });

  test('OpenVEX 0.0.1 fixture: one arch of git matches its own statement only', () => {
    const statements = fixtureStatements('openvex/go-vex-testdata/v0.0.1.json', 'OPENVEX');
    const found = applicableStatements(
      statements,
      { purl: 'pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64' },
      { id: 'cve-2023-12345', aliases: [] },
    );
    assert.deepEqual(
      found.map((s) => s.product),
      ['pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64'],
    );
    assert.deepEqual(
      applicableStatements(statements, { purl: 'pkg:apk/wolfi/git@2.40.0-r0' }, { id: 'CVE-2023-12345', aliases: [] }),
      [],
    );
  });
});

describe('vulnerability ids', () => {
  const chainguard = () =>
    fixtureStatements('openvex/chainguard-libraries-via-anchore-vunnel/pypi/urllib3.openvex.json', 'OPENVEX');
  const urllib3 = { purl: 'pkg:pypi/urllib3@1.26.16%2Bcgr.1' };

  test('a GHSA finding meets a Chainguard statement through its CVE alias, once, in the alias spelling that matched', () => {
    const found = applicableStatements(chainguard(), urllib3, {
      id: 'GHSA-G4MX-Q9VG-27P4',
      aliases: ['CVE-2023-45803'],
    });
    assert.equal(found.length, 1);
    assert.equal(found[0]?.vulnerabilityId, 'CVE-2023-45803');
    assert.equal(found[0]?.product, 'pkg:pypi/urllib3@1.26.16+cgr.1');
    assert.equal(found[0]?.status, 'fixed');
  });

  test('the vendor id matches exactly; CVE and GHSA case-insensitively; unrelated ids never', () => {
    assert.equal(applicableStatements(chainguard(), urllib3, { id: 'CGA-7qjw-ggh3-pp9f', aliases: [] }).length, 1);
    assert.equal(applicableStatements(chainguard(), urllib3, { id: 'cga-7qjw-ggh3-pp9f', aliases: [] }).length, 0);
    assert.equal(applicableStatements(chainguard(), urllib3, { id: 'ghsa-g4mx-q9vg-27p4', aliases: [] }).length, 1);
    assert.equal(
      applicableStatements(chainguard(), urllib3, { id: 'CVE-2023-45804', aliases: ['GHSA-xxxx'] }).length,
      0,
    );
    // Right vulnerability, wrong build: cgr.2 is not named.
    assert.equal(
      applicableStatements(
        chainguard(),
        { purl: 'pkg:pypi/urllib3@1.26.16%2Bcgr.2' },
        { id: 'CVE-2023-45803', aliases: [] },
      ).length,
      0,
    );
  });

  test('statements from different pointers or records stay side by side', () => {
    const both = [
      statement('pkg:npm/a', 'CVE-2024-0001', '/statements/0'),
      statement('pkg:npm/a@1', 'CVE-2024-0001', '/statements/1'),
    ];
    assert.equal(applicableStatements(both, { purl: 'pkg:npm/a@1' }, cve).length, 2);
  });
});

describe('CPE products', () => {
  test('vendor:product:version match with ANY (*) and NA (-), CPE 2.2 URIs against 2.3 names', () => {
    const openssl = 'cpe:2.3:a:openssl:openssl:3.0.8:*:*:*:*:*:*:*';
    assert.ok(cpeMatches('cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*', openssl));
    assert.ok(cpeMatches('cpe:2.3:a:OpenSSL:openssl:3.0.8:*:*:*:*:*:*:*', openssl));
    assert.ok(cpeMatches('cpe:2.3:*:openssl:openssl:3.0.8', openssl));
    assert.ok(cpeMatches('cpe:2.3:a:openssl:openssl:3.0.*:*:*:*:*:*:*:*', openssl));
    assert.ok(cpeMatches('cpe:/a:openssl:openssl:3.0.8', openssl));
    assert.ok(cpeMatches('cpe:/a:openssl:openssl', openssl));
    assert.ok(
      cpeMatches('cpe:/o:redhat:enterprise_linux:9::baseos', 'cpe:2.3:o:redhat:enterprise_linux:9:*:*:*:*:*:*:*'),
    );
    assert.ok(!cpeMatches('cpe:2.3:a:openssl:openssl:3.0.9:*:*:*:*:*:*:*', openssl));
    assert.ok(!cpeMatches('cpe:2.3:a:openssl:libressl:*:*:*:*:*:*:*:*', openssl));
    assert.ok(!cpeMatches('cpe:2.3:o:openssl:openssl:*:*:*:*:*:*:*:*', openssl));
    assert.ok(!cpeMatches('cpe:2.3:a:openssl:openssl:-:*:*:*:*:*:*:*', openssl));
    assert.ok(cpeMatches('cpe:2.3:a:acme:tool:-:*:*:*:*:*:*:*', 'cpe:2.3:a:acme:tool:-:*:*:*:*:*:*:*'));
    assert.ok(!cpeMatches('not a cpe', openssl));
  });

  test('a CPE statement applies through the component cpe only', () => {
    const product = 'cpe:2.3:a:secvisogram:secvisogram:*:*:*:*:*:*:*:*';
    assert.ok(
      applies(product, {
        purl: 'pkg:npm/secvisogram@1.14.0',
        cpe: 'cpe:2.3:a:secvisogram:secvisogram:1.14.0:*:*:*:*:*:*:*',
      }),
    );
    assert.ok(!applies(product, { purl: 'pkg:npm/secvisogram@1.14.0' }));
    assert.ok(!applies(product, { purl: 'pkg:npm/secvisogram@1.14.0', cpe: 'cpe:2.3:a:other:secvisogram:1.14.0' }));
  });
});
