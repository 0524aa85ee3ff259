// SPDX-License-Identifier: Apache-2.0
// The independent Trivy DB reader (packages/testkit/tools/trivycheck, Go + Debian's bbolt) exercised on small
// Trivy-shaped databases written by stella's own bbolt writer: a good database passes with exact counts,
// Trivy's library lookup merges every "<ecosystem>::" bucket and nothing else, the OS lookup reads one
// bucket, and each kind of defect Trivy would trip over (or silently misread) fails naming the problem.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { scratchDir, trivyCheck, trivyCheckFailure, trivyLookup, trivyOsLookup } from '@stella/testkit';
import { type BoltBucket, boltBucket, writeBolt } from '../src/bolt/index.ts';

const dir = scratchDir('stella-trivycheck-');

/** advisory bucket -> package -> vulnerability id -> Advisory (a Buffer is stored as is; a Buffer package is a plain value). */
type Advisories = Record<string, Record<string, Record<string, unknown> | Buffer>>;
interface Fixture {
  advisories: Advisories;
  vulnerabilities?: Record<string, unknown>;
  dataSources?: Record<string, unknown>;
}

const GHSA_NPM = 'npm::GitHub Security Advisory npm';
const bytes = (value: unknown) => (Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value)));
const leaf = (values: Record<string, unknown>) => boltBucket(Object.entries(values).map(([k, v]) => [k, bytes(v)]));

function toBolt(fixture: Fixture): BoltBucket {
  const root = boltBucket();
  for (const [name, packages] of Object.entries(fixture.advisories)) {
    const bucket = boltBucket();
    for (const [pkg, ids] of Object.entries(packages)) bucket.entries.set(pkg, Buffer.isBuffer(ids) ? ids : leaf(ids));
    root.entries.set(name, bucket);
  }
  if (fixture.vulnerabilities) root.entries.set('vulnerability', leaf(fixture.vulnerabilities));
  if (fixture.dataSources) root.entries.set('data-source', leaf(fixture.dataSources));
  return root;
}

let counter = 0;
async function written(fixture: Fixture): Promise<string> {
  const file = join(dir, `trivy-${counter++}.db`);
  await writeBolt(toBolt(fixture), file);
  return file;
}

const semverAdvisory = {
  VendorIDs: ['GHSA-c2qf-rxjj-qqgw'],
  VulnerableVersions: ['>=7.0.0, <7.5.2', '<5.7.2'],
  PatchedVersions: ['7.5.2', '5.7.2'],
};
const semverVulnerability = {
  Title: 'semver vulnerable to Regular Expression Denial of Service',
  Description: 'Versions before 7.5.2 are vulnerable to ReDoS via new Range.',
  Severity: 'MEDIUM',
  CweIDs: ['CWE-1333'],
  VendorSeverity: { ghsa: 2, nvd: 2 },
  CVSS: {
    ghsa: { V3Vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L', V3Score: 5.3 },
    nvd: { V2Vector: 'AV:N/AC:L/Au:N/C:N/I:N/A:P', V2Score: 5, V40Vector: 'CVSS:4.0/AV:N', V40Score: 6.9 },
  },
  References: ['https://github.com/advisories/GHSA-c2qf-rxjj-qqgw'],
  PublishedDate: '2023-06-21T06:15:09Z',
  LastModifiedDate: '2023-11-07T04:09:24+01:00',
  Custom: { stella: { source: 'osv' } },
};
const ghsaSource = { ID: 'ghsa', Name: 'GitHub Security Advisory npm', URL: 'https://github.com/advisories' };
const otherSource = { ID: 'stella', Name: 'Other', BaseID: 'ghsa' };

/** A good database: two npm sources, a pip source with a same-named package, two OS buckets. */
function good(): Fixture {
  return {
    advisories: {
      [GHSA_NPM]: {
        semver: { 'CVE-2022-25883': semverAdvisory },
        lodash: { 'CVE-2021-23337': { PatchedVersions: ['4.17.21'] }, 'CVE-0000-0000': Buffer.alloc(0) },
      },
      'npm::Other': { semver: { 'STELLA-2024-1': { VulnerableVersions: ['=7.5.0'], Severity: 3, Status: 2 } } },
      'pip::GitHub Security Advisory pip': { semver: { 'PYSEC-2023-1': { PatchedVersions: ['3.0.1'] } } },
      'alpine 3.18': {
        openssl: {
          'CVE-2023-0464': { FixedVersion: '3.1.0-r1' },
          'CVE-2023-2650': { Status: 2, Severity: 3, Arches: ['x86_64'], VendorIDs: ['ALPINE-1'] },
        },
      },
      wolfi: { glibc: { 'CVE-2024-2961': { FixedVersion: '2.39-r3', Custom: ['any', 1] } } },
    },
    vulnerabilities: {
      'CVE-2022-25883': semverVulnerability,
      'CVE-2021-23337': { Title: 'lodash command injection', VendorSeverity: { ghsa: 3 } },
      'STELLA-2024-1': { Severity: 'HIGH' },
      'PYSEC-2023-1': { Title: 'not the npm package' },
      'CVE-2023-0464': { Severity: 'HIGH', VendorSeverity: { alpine: 3 } },
      'CVE-2023-2650': { Severity: 'MEDIUM' },
      'CVE-2024-2961': { Severity: 'HIGH', PublishedDate: '2024-04-17T18:15:15.797Z' },
    },
    dataSources: {
      [GHSA_NPM]: ghsaSource,
      'npm::Other': otherSource,
      'pip::GitHub Security Advisory pip': { ID: 'ghsa', Name: 'GitHub Security Advisory pip' },
      'alpine 3.18': { ID: 'alpine', Name: 'Alpine Secdb', URL: 'https://secdb.alpinelinux.org/' },
      wolfi: { ID: 'wolfi', Name: 'Wolfi Secdb' },
    },
  };
}

/** Asserts the check fails with exactly one problem line, matching `pattern`. */
async function failsWith(fixture: Fixture, pattern: RegExp): Promise<void> {
  const failure = await trivyCheckFailure(await written(fixture));
  assert.equal(failure.problems.length, 1, failure.message);
  assert.match(failure.problems[0]!, pattern);
}

describe('trivycheck: a good database, library lookups', () => {
  test('passes the check with exact counts; empty advisory values are skipped', async () => {
    assert.deepEqual(await trivyCheck(await written(good())), {
      buckets: 5,
      packages: 6,
      advisories: 7,
      vulnerabilities: 7,
      dataSources: 5,
    });
  });

  test('lookup merges every npm:: bucket, not npmx:: or pip::, joined to data source and vulnerability', async () => {
    const fixture = good();
    fixture.advisories['npmx::Other'] = { semver: { 'CVE-1999-0001': {} } };
    fixture.advisories['npm::Other']!['semver'] = { 'STELLA-2024-1': { Status: 2 }, 'STELLA-2024-2': {} };
    const found = await trivyLookup(await written(fixture), 'npm', 'semver');
    assert.deepEqual(found, [
      {
        bucket: GHSA_NPM,
        vulnerabilityId: 'CVE-2022-25883',
        advisory: semverAdvisory,
        dataSource: ghsaSource,
        vulnerability: { ...semverVulnerability, LastModifiedDate: '2023-11-07T04:09:24+01:00' },
      },
      {
        bucket: 'npm::Other',
        vulnerabilityId: 'STELLA-2024-1',
        advisory: { Status: 2 },
        dataSource: otherSource,
        vulnerability: { Severity: 'HIGH' },
      },
      // No vulnerability entry: Trivy gets nothing for it, and so does the lookup.
      {
        bucket: 'npm::Other',
        vulnerabilityId: 'STELLA-2024-2',
        advisory: {},
        dataSource: otherSource,
        vulnerability: null,
      },
    ]);
  });

  test('lookup marks an id listed by two npm:: buckets: Trivy keeps only the later bucket', async () => {
    const fixture = good();
    fixture.advisories['npm::Other']!['semver'] = { 'CVE-2022-25883': { PatchedVersions: ['7.5.3'] } };
    const found = await trivyLookup(await written(fixture), 'npm', 'semver');
    assert.deepEqual(
      found.map((f) => [f.bucket, f.vulnerabilityId, f.advisory.PatchedVersions, f.shadowedBy]),
      [
        [GHSA_NPM, 'CVE-2022-25883', ['7.5.2', '5.7.2'], 'npm::Other'],
        ['npm::Other', 'CVE-2022-25883', ['7.5.3'], undefined],
      ],
    );
  });

  test('lookup of a package with an empty value, and of a package nobody lists', async () => {
    const file = await written(good());
    const lodash = await trivyLookup(file, 'npm', 'lodash');
    assert.deepEqual(
      lodash.map((f) => [f.bucket, f.vulnerabilityId, f.vulnerability?.Title]),
      [[GHSA_NPM, 'CVE-2021-23337', 'lodash command injection']],
    );
    assert.deepEqual(await trivyLookup(file, 'npm', 'left-pad'), []);
    assert.deepEqual(await trivyLookup(file, 'cargo', 'semver'), []);
    assert.deepEqual(
      (await trivyLookup(file, 'pip', 'semver')).map((f) => f.vulnerabilityId),
      ['PYSEC-2023-1'],
    );
  });
});

describe('trivycheck: OS lookups and many buckets', () => {
  test('os lookup reads one exact bucket', async () => {
    const file = await written(good());
    const found = await trivyOsLookup(file, 'alpine 3.18', 'openssl');
    assert.deepEqual(
      found.map((f) => [f.bucket, f.vulnerabilityId, f.advisory, f.dataSource?.ID, f.vulnerability?.Severity]),
      [
        ['alpine 3.18', 'CVE-2023-0464', { FixedVersion: '3.1.0-r1' }, 'alpine', 'HIGH'],
        [
          'alpine 3.18',
          'CVE-2023-2650',
          { Status: 2, Severity: 3, Arches: ['x86_64'], VendorIDs: ['ALPINE-1'] },
          'alpine',
          'MEDIUM',
        ],
      ],
    );
    assert.deepEqual(await trivyOsLookup(file, 'alpine 3', 'openssl'), []);
    assert.deepEqual(await trivyOsLookup(file, 'alpine 3.18', 'glibc'), []);
    const wolfi = await trivyOsLookup(file, 'wolfi', 'glibc');
    assert.deepEqual(wolfi[0]?.advisory, { FixedVersion: '2.39-r3', Custom: ['any', 1] });
    assert.equal(wolfi[0]?.vulnerability?.PublishedDate, '2024-04-17T18:15:15.797Z');
  });

  test('hundreds of root buckets: the prefix seek crosses branch pages and stops at the prefix', async () => {
    const fixture: Fixture = { advisories: {}, vulnerabilities: {}, dataSources: {} };
    for (const eco of ['go', 'npm', 'nuget']) {
      for (let i = 0; i < 150; i++) {
        const name = `${eco}::Source ${String(i).padStart(3, '0')}`;
        fixture.advisories[name] = { shared: { [`ID-${eco}-${i}`]: { PatchedVersions: [`1.${i}.0`] } } };
        fixture.vulnerabilities![`ID-${eco}-${i}`] = { Title: `${eco} ${i}` };
        fixture.dataSources![name] = { ID: `${eco}-${i}`, Name: `Source ${i}` };
      }
    }
    const file = await written(fixture);
    assert.deepEqual(await trivyCheck(file), {
      buckets: 450,
      packages: 450,
      advisories: 450,
      vulnerabilities: 450,
      dataSources: 450,
    });
    const found = await trivyLookup(file, 'npm', 'shared');
    assert.equal(found.length, 150);
    assert.ok(found.every((f, i) => f.vulnerabilityId === `ID-npm-${i}` && f.dataSource?.ID === `npm-${i}`));
  });
});

describe('trivycheck: defects in advisory values fail naming the problem', () => {
  test('no vulnerability bucket (Trivy would dereference nil); lookup refuses too', async () => {
    const fixture = good();
    delete fixture.vulnerabilities;
    await failsWith(fixture, /^missing "vulnerability" bucket/);
    await assert.rejects(trivyLookup(await written(fixture), 'npm', 'semver'), /missing "vulnerability" bucket/);
  });

  test('a misspelled advisory field', async () => {
    const fixture = good();
    fixture.advisories[GHSA_NPM]!['semver'] = { 'CVE-2022-25883': { VulnerableVersion: ['<7.5.2'] } };
    await failsWith(
      fixture,
      /^bucket "npm::GitHub Security Advisory npm" package "semver" key "CVE-2022-25883": Advisory: json: unknown field "VulnerableVersion"$/,
    );
  });

  test('a field spelled in the wrong case (Go would match it case-insensitively)', async () => {
    const fixture = good();
    fixture.advisories['alpine 3.18']!['openssl'] = { 'CVE-2023-0464': { fixedVersion: '3.1.0-r1' } };
    await failsWith(fixture, /package "openssl" key "CVE-2023-0464": Advisory: field "fixedVersion" is not spelled/);
  });

  test('Status as a string, not its integer index', async () => {
    const fixture = good();
    fixture.advisories['alpine 3.18']!['openssl'] = { 'CVE-2023-0464': { Status: 'fixed' } };
    await failsWith(fixture, /key "CVE-2023-0464": Advisory: json: cannot unmarshal string into .*Status of type int/);
  });
});

describe('trivycheck: defects in vulnerability values fail naming the problem', () => {
  test('a date that is not RFC 3339', async () => {
    const fixture = good();
    fixture.vulnerabilities!['CVE-2023-0464'] = { Severity: 'HIGH', PublishedDate: '2023-03-22' };
    await failsWith(
      fixture,
      /^bucket "vulnerability" key "CVE-2023-0464": Vulnerability: parsing time "\\"2023-03-22\\""/,
    );
  });

  test('a vendor severity Trivy has no name for', async () => {
    const fixture = good();
    fixture.vulnerabilities!['CVE-2023-0464'] = { VendorSeverity: { alpine: 5 } };
    await failsWith(fixture, /key "CVE-2023-0464": Vulnerability: VendorSeverity\["alpine"\] = 5 is outside 0\.\.4/);
  });
});

describe('trivycheck: defects in bucket structure and joins fail naming the problem', () => {
  test('an advisory whose vulnerability id has no vulnerability entry', async () => {
    const fixture = good();
    delete fixture.vulnerabilities!['CVE-2023-0464'];
    await failsWith(
      fixture,
      /^vulnerability "CVE-2023-0464" \(advisory in "alpine 3.18" \/ "openssl", 1 use\(s\)\) has no entry in "vulnerability"$/,
    );
  });

  test('an advisory bucket without a data-source entry, and no data-source bucket at all', async () => {
    const fixture = good();
    delete fixture.dataSources!['wolfi'];
    await failsWith(fixture, /^bucket "wolfi": no entry in "data-source"$/);
    delete fixture.dataSources;
    await failsWith(fixture, /^missing "data-source" bucket$/);
  });

  test('a data source without an ID', async () => {
    const fixture = good();
    fixture.dataSources!['wolfi'] = { Name: 'Wolfi Secdb' };
    await failsWith(fixture, /^bucket "data-source" key "wolfi": DataSource: ID and Name must not be empty$/);
  });

  test('a plain value directly in an advisory bucket', async () => {
    const fixture = good();
    fixture.advisories['alpine 3.18']!['README'] = Buffer.from('{}');
    await failsWith(fixture, /^bucket "alpine 3.18": key "README" is a plain value, not a package bucket$/);
  });

  test('an ecosystem Trivy does not know', async () => {
    const fixture = good();
    fixture.advisories['npmx::Other'] = { semver: { 'STELLA-2024-1': {} } };
    fixture.dataSources!['npmx::Other'] = otherSource;
    await failsWith(fixture, /^bucket "npmx::Other": the name has ecosystem "npmx", which is not one of Trivy's$/);
  });

  test('trailing data after an advisory value', async () => {
    const fixture = good();
    fixture.advisories['wolfi']!['glibc'] = { 'CVE-2024-2961': Buffer.from('{"FixedVersion":"1"} {}') };
    await failsWith(
      fixture,
      /^bucket "wolfi" package "glibc" key "CVE-2024-2961": Advisory: data after the JSON value$/,
    );
  });
});
