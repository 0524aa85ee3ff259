// SPDX-License-Identifier: Apache-2.0
// The CSAF matcher against stored Red Hat advisories (csaf/redhat-via-anchore-vunnel: RHSA-2024:0010
// tigervnc, RHSA-2025:23414 bind with epoch 32, RHSA-2024:6163 python3.9 through relationships only), the
// OASIS examples (BSI-2022-0001: CPE-only products; RHSA-2019:1862: an informational advisory) and Red Hat
// VEX documents read as CSAF (redhat-via-guac RHSA-2023:1441: known_affected; redhat-vex-via-trivy-db
// CVE-2024-10041: vendor_fix without product_status). Every RPM purl below is the shape syft writes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { csafFacts, matchCsaf } from '../src/match/csaf.ts';
import { fixture } from './match-cases.ts';

const TIGERVNC = fixture('csaf/redhat-via-anchore-vunnel/rhsa-2024_0010.json');
const BIND = fixture('csaf/redhat-via-anchore-vunnel/rhsa-2025_23414.json');
const PYTHON39 = fixture('csaf/redhat-via-anchore-vunnel/rhsa-2024_6163.json');
const OPENSSL_VEX = fixture('csaf/redhat-via-guac/rhsa-csaf.json');
const PAM_VEX = fixture('csaf/redhat-vex-via-trivy-db/cve-2024-10041.json');
const BSI = fixture('csaf/oasis-csaf-2.0-examples/csaf/bsi-2022-0001.json');
const INFORMATIONAL = fixture('csaf/oasis-csaf-2.0-examples/csaf/rhsa-2019_1862.json');
const BSI_21 = fixture('csaf/oasis-csaf-2.1-examples/csaf/bsi-2022-0001.json');

/** An RPM component as an SBOM names it: `Red Hat:<distro>` ecosystem, the purl with its qualifiers. */
function rpm(name: string, version: string, qualifiers = 'arch=x86_64&distro=rhel-9.3') {
  const distro = /distro=([^&]+)/.exec(qualifiers)?.[1];
  return {
    ecosystem: distro ? `Red Hat:${distro}` : 'Red Hat',
    packageName: name,
    version,
    purl: `pkg:rpm/redhat/${name}@${version}?${qualifiers}`,
  };
}

describe('CSAF: a Red Hat RHSA lists only fixed products, each with a vendor_fix', () => {
  test('tigervnc below the fixed 1.13.1-3.el9_3.3 is affected; the fix names the product and the CVE', () => {
    const outcome = matchCsaf(TIGERVNC, rpm('tigervnc', '1.13.1-3.el9_3.2'));
    assert.equal(outcome.kind, 'affected');
    assert.ok(outcome.kind === 'affected');
    assert.deepEqual(outcome.fixedVersions, ['1.13.1-3.el9_3.3']);
    assert.equal(outcome.range.type, 'csaf');
    assert.ok(outcome.range.type === 'csaf');
    assert.equal(outcome.range.status, 'fixed');
    assert.equal(outcome.range.vulnerability, 'CVE-2023-5367');
    assert.equal(outcome.range.fixed, '1.13.1-3.el9_3.3');
    // Of the five architectures' products, the component's own (x86_64) is cited.
    assert.equal(outcome.range.product, 'AppStream-9.3.0.Z.MAIN:tigervnc-0:1.13.1-3.el9_3.3.x86_64');
  });

  test('tigervnc at and above the fixed version is not affected', () => {
    assert.deepEqual(matchCsaf(TIGERVNC, rpm('tigervnc', '1.13.1-3.el9_3.3')), { kind: 'not-affected' });
    assert.deepEqual(matchCsaf(TIGERVNC, rpm('tigervnc', '1.13.1-4.el9')), { kind: 'not-affected' });
  });

  test('a RHEL 8 build is judged by no RHEL 9 fix, from its distro qualifier or its .el8 release', () => {
    assert.deepEqual(matchCsaf(TIGERVNC, rpm('tigervnc', '1.12.0-15.el8', 'arch=x86_64&distro=rhel-8.9')), {
      kind: 'not-affected',
    });
    assert.deepEqual(matchCsaf(TIGERVNC, rpm('tigervnc', '1.12.0-15.el8', 'arch=x86_64')), { kind: 'not-affected' });
    // The same version string in a RHEL 9 stream is below the fix.
    assert.equal(matchCsaf(TIGERVNC, rpm('tigervnc', '1.12.0-15.el9', 'arch=x86_64')).kind, 'affected');
  });

  test('binary subpackages are their own products; a package the advisory does not name is not affected', () => {
    assert.equal(matchCsaf(TIGERVNC, rpm('tigervnc-server', '1.13.1-3.el9_3.1')).kind, 'affected');
    assert.deepEqual(matchCsaf(TIGERVNC, rpm('xorg-x11-server', '1.20.11-19.el9')), { kind: 'not-affected' });
  });

  test('bind: the epoch qualifier (32) is part of the version on both sides', () => {
    const below = rpm('bind', '9.8.2-0.68.rc1.el6_10.16', 'arch=x86_64&epoch=32&distro=rhel-6');
    const outcome = matchCsaf(BIND, below);
    assert.ok(outcome.kind === 'affected', JSON.stringify(outcome));
    assert.deepEqual(outcome.fixedVersions, ['32:9.8.2-0.68.rc1.el6_10.17']);
    const fixed = rpm('bind', '9.8.2-0.68.rc1.el6_10.17', 'arch=x86_64&epoch=32&distro=rhel-6');
    assert.deepEqual(matchCsaf(BIND, fixed), { kind: 'not-affected' });
    // Written with the epoch in the version, as rpm prints it.
    assert.deepEqual(matchCsaf(BIND, rpm('bind', '32:9.8.2-0.68.rc1.el6_10.17', 'distro=rhel-6')), {
      kind: 'not-affected',
    });
    // A newer upstream version with epoch 0 sorts below every epoch 32 build: rpm would call it older.
    assert.equal(matchCsaf(BIND, rpm('bind', '9.9.0-1.el6', 'distro=rhel-6')).kind, 'affected');
  });

  test('python3.9: products defined only by relationships take the purl of the component they name', () => {
    const outcome = matchCsaf(PYTHON39, rpm('python3.9', '3.9.18-3.el9_4.4', 'arch=src&distro=rhel-9.4'));
    assert.ok(outcome.kind === 'affected', JSON.stringify(outcome));
    assert.ok(outcome.range.type === 'csaf');
    assert.equal(outcome.range.vulnerability, 'CVE-2024-8088');
    assert.match(
      outcome.range.product,
      /^(AppStream|BaseOS|CRB)-9\.4\.0\.Z\.MAIN\.EUS:python3\.9-0:3\.9\.18-3\.el9_4\.5\.src$/,
    );
  });

  test('an unparseable component version is unknown, never a verdict', () => {
    const outcome = matchCsaf(TIGERVNC, rpm('tigervnc', '1.13.1-3.el9_3.2!'));
    assert.equal(outcome.kind, 'unknown');
    assert.ok(outcome.kind === 'unknown');
    assert.equal(outcome.reason, 'version-unparseable');
  });
});

describe('CSAF: other product statuses', () => {
  test('known_affected at the exact version (RHSA-2023:1441 as VEX, openssl 1:1.1.1k-7.el8_6) is affected', () => {
    const at = matchCsaf(OPENSSL_VEX, rpm('openssl', '1.1.1k-7.el8_6', 'arch=x86_64&epoch=1&distro=rhel-8.6'));
    assert.ok(at.kind === 'affected' && at.range.type === 'csaf', JSON.stringify(at));
    assert.equal(at.range.status, 'known_affected');
    assert.equal(at.range.product, 'BaseOS-8.6.0.Z.EUS:openssl-1:1.1.1k-7.el8_6.x86_64');
    assert.deepEqual(at.fixedVersions, ['1:1.1.1k-8.el8_6']);
    // Without the epoch qualifier the version is epoch 0, another version than the affected 1:1.1.1k-7.
    const noEpoch = matchCsaf(OPENSSL_VEX, rpm('openssl', '1.1.1k-7.el8_6', 'arch=x86_64&distro=rhel-8.6'));
    assert.ok(noEpoch.kind === 'affected' && noEpoch.range.type === 'csaf');
    assert.equal(noEpoch.range.status, 'fixed');
    const fixed = matchCsaf(OPENSSL_VEX, rpm('openssl', '1.1.1k-8.el8_6', 'arch=aarch64&epoch=1&distro=rhel-8.6'));
    assert.deepEqual(fixed, { kind: 'not-affected' });
  });

  test('an older build: a fix in a VEX counts because an affected product shares its product family', () => {
    const older = matchCsaf(OPENSSL_VEX, rpm('openssl', '1.1.1k-6.el8_5', 'arch=x86_64&epoch=1&distro=rhel-8.6'));
    assert.ok(older.kind === 'affected' && older.range.type === 'csaf', JSON.stringify(older));
    assert.equal(older.range.status, 'fixed');
    assert.equal(older.range.fixed, '1:1.1.1k-8.el8_6');
  });

  test('CVE-2024-10041 VEX: a vendor_fix product without product_status gives the fixed version', () => {
    const fixed = matchCsaf(PAM_VEX, rpm('pam', '1.5.1-21.el9_5', 'arch=x86_64&distro=rhel-9.5'));
    assert.deepEqual(fixed, { kind: 'not-affected' });
    const older = matchCsaf(PAM_VEX, rpm('pam', '1.5.1-20.el9', 'arch=x86_64&distro=rhel-9.5'));
    assert.equal(older.kind, 'unknown');
  });

  test('CPE-only products (BSI-2022-0001) and informational advisories (RHSA-2019:1862) name no package', () => {
    const component = { ecosystem: 'PyPI', packageName: 'cvrf-csaf-converter', version: '1.0.0rc1' };
    assert.deepEqual(matchCsaf(BSI, component), { kind: 'not-affected' });
    assert.deepEqual(matchCsaf(INFORMATIONAL, rpm('openshift', '4.1.0-1.el7')), { kind: 'not-affected' });
  });
});

describe('CSAF: synthetic product statuses on a real product tree', () => {
  /** RHSA-2024:0010 with its first vulnerability's statuses replaced (the tree and purls kept). */
  function withStatus(status: Record<string, string[]>, category = 'csaf_security_advisory'): unknown {
    const doc = structuredClone(TIGERVNC) as {
      document: { category: string };
      vulnerabilities: { product_status: unknown; remediations: unknown }[];
    };
    doc.document.category = category;
    doc.vulnerabilities = [{ ...doc.vulnerabilities[0]!, product_status: status, remediations: [] }];
    return doc;
  }
  const X86 = 'AppStream-9.3.0.Z.MAIN:tigervnc-0:1.13.1-3.el9_3.3.x86_64';

  test('known_affected at the version → affected; known_not_affected at the version → not affected', () => {
    const affected = matchCsaf(withStatus({ known_affected: [X86] }), rpm('tigervnc', '1.13.1-3.el9_3.3'));
    assert.ok(affected.kind === 'affected' && affected.range.type === 'csaf');
    assert.equal(affected.range.status, 'known_affected');
    assert.equal(affected.range.product, X86);
    const other = matchCsaf(withStatus({ known_affected: [X86] }), rpm('tigervnc', '1.13.1-3.el9_3.2'));
    assert.deepEqual(other, { kind: 'not-affected' });
    const notAffected = matchCsaf(withStatus({ known_not_affected: [X86] }), rpm('tigervnc', '1.13.1-3.el9_3.3'));
    assert.deepEqual(notAffected, { kind: 'not-affected' });
  });

  test('a fixed product without vendor_fix: older builds are unknown, unless an affected product shares its family', () => {
    const onlyFixed = matchCsaf(withStatus({ fixed: [X86] }), rpm('tigervnc', '1.13.1-3.el9_3.2'));
    assert.equal(onlyFixed.kind, 'unknown');
    const family = withStatus({
      fixed: [X86],
      known_affected: ['AppStream-9.3.0.Z.MAIN:tigervnc-0:1.13.1-3.el9_3.3.src'],
    });
    assert.equal(matchCsaf(family, rpm('tigervnc', '1.13.1-3.el9_3.2')).kind, 'affected');
  });
});

describe('CSAF 2.1', () => {
  test('purls[] (2.1) names products as purl (2.0) does: RHSA-2024:0010 with every helper rewritten', () => {
    const rewrite = (node: unknown): unknown => {
      if (Array.isArray(node)) return node.map(rewrite);
      if (typeof node !== 'object' || node === null) return node;
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(node))
        if (key === 'purl') out.purls = [value];
        else out[key] = rewrite(value);
      return out;
    };
    const doc = rewrite(TIGERVNC);
    assert.ok(!JSON.stringify(doc).includes('"purl"'));
    assert.equal(matchCsaf(doc, rpm('tigervnc', '1.13.1-3.el9_3.2')).kind, 'affected');
    assert.deepEqual(matchCsaf(doc, rpm('tigervnc', '1.13.1-3.el9_3.3')), { kind: 'not-affected' });
  });
});

describe('CSAF facts', () => {
  test('RHSA-2024:0010: the CVSS 3.1 vectors of its vulnerabilities and the aggregate severity', () => {
    const facts = csafFacts(TIGERVNC);
    assert.ok(facts.severity.some((s) => s.type === 'CVSS_V3' && s.score.startsWith('CVSS:3.1/')));
    assert.deepEqual(facts.severity.at(-1), { type: 'CSAF_AGGREGATE', score: 'Important' });
    assert.equal(facts.kev, undefined);
  });

  test('BSI-2022-0001 (CSAF 2.1): the vector under metrics[].content.cvss_v3', () => {
    assert.deepEqual(csafFacts(BSI_21).severity[0], {
      type: 'CVSS_V3',
      score: 'CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:N/A:L/E:F/RL:O/RC:C',
    });
  });
});
