// SPDX-License-Identifier: Apache-2.0
// The OSV matcher against stored records of Maven, PyPI, Go (GHSA), crates.io, NuGet, Packagist and an
// ecosystem the registry does not know, plus PYSEC records with last_affected, GIT ranges and withdrawal.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { matchOsv, osvPackagesOf } from '../src/index.ts';
import { checkVersions, fixture } from './match-cases.ts';

const reviewed = (path: string) => fixture(`ghsa/advisory-database/advisories/github-reviewed/${path}`);
const trivy = (id: string) => fixture(`ghsa/via-trivy-db/${id}.json`);
const pysec = (id: string) => fixture(`osv-misc/pysec-via-trivy-db/${id}.json`);

describe('GHSA ECOSYSTEM ranges beyond npm', () => {
  test('Maven log4j-core (GHSA-jfh8-c2jp-5v3q): three entries, Maven order (2.4 = 2.4.0)', () => {
    const doc = reviewed('2021/12/GHSA-jfh8-c2jp-5v3q/GHSA-jfh8-c2jp-5v3q.json');
    checkVersions(doc, 'Maven', 'org.apache.logging.log4j:log4j-core', {
      '2.14.1': { introduced: '2.13.0', fixed: '2.15.0', fixedVersions: ['2.15.0'] },
      '2.15.0': 'not-affected',
      '2.13.0': 'affected',
      '2.12.2': 'not-affected',
      '2.12.1': { introduced: '2.4', fixed: '2.12.2' },
      '2.4.0': 'affected',
      '2.3.1': 'not-affected',
      '2.3': { introduced: '0', fixed: '2.3.1' },
      '2.0-beta9': 'affected',
      '2.17.0': 'not-affected',
    });
    checkVersions(doc, 'Maven', 'org.apache.logging.log4j:log4j-api', { '2.14.1': 'not-affected' });
  });

  test('PyPI requests (GHSA-j8r2-6x86-q33q), names compared after PEP 503 normalisation', () => {
    const doc = reviewed('2023/05/GHSA-j8r2-6x86-q33q/GHSA-j8r2-6x86-q33q.json');
    checkVersions(doc, 'PyPI', 'requests', {
      '2.2.1': 'not-affected',
      '2.3.0': 'affected',
      '2.30.0': { fixed: '2.31.0' },
      '2.31.0rc1': 'affected',
      '2.31.0': 'not-affected',
      '2.31.0.post1': 'not-affected',
    });
    checkVersions(doc, 'pypi', 'Requests', { '2.30.0': 'affected' });
    checkVersions(doc, 'PyPI', 'requests_', { '2.30.0': 'not-affected' });
  });

  test('Go in GHSA (GHSA-6fj5-m822-rqx8): ECOSYSTEM ranges without v, component with or without it', () => {
    const doc = reviewed('2024/01/GHSA-6fj5-m822-rqx8/GHSA-6fj5-m822-rqx8.json');
    checkVersions(doc, 'Go', 'github.com/docker/docker', {
      'v19.3.14+incompatible': 'affected',
      '19.3.15': 'not-affected',
      'v20.10.0-beta1': { introduced: '20.10.0-beta1', fixed: '20.10.3' },
      '20.10.2': 'affected',
      'v20.10.3+incompatible': 'not-affected',
    });
    checkVersions(trivy('GHSA-4v7x-pqxf-cx7m'), 'golang', 'net/http', {
      '1.21.8': 'affected',
      '1.21.9': 'not-affected',
      '1.22.0-rc.2': 'affected',
      '1.22.2': 'not-affected',
    });
  });

  test('crates.io evm (GHSA-4jwq-572w-4388): entries with versions[] next to their range; Cargo alias', () => {
    const doc = reviewed('2024/01/GHSA-4jwq-572w-4388/GHSA-4jwq-572w-4388.json');
    checkVersions(doc, 'crates.io', 'evm', {
      '0.21.0': { introduced: '0', fixed: '0.21.1' },
      '0.21.1': 'not-affected',
      '0.22.0': { introduced: '0.22.0', fixed: '0.22.1' },
      '0.22.1': 'not-affected',
      '0.26.0': 'affected',
      '0.26.1': 'not-affected',
    });
    checkVersions(trivy('GHSA-mp6f-p9gp-vpj9'), 'Cargo', 'sized-chunks', {
      '0.6.2': 'affected',
      '0.6.3': 'not-affected',
    });
  });

  test('NuGet ids and Packagist names are case-insensitive', () => {
    checkVersions(trivy('GHSA-266m-wp2v-x7mq'), 'NuGet', 'microsoft.netcore.app.runtime.LINUX-ARM', {
      '8.0.10': 'not-affected',
      '9.0.0': 'affected',
      '9.0.5': 'affected',
      '9.0.6': 'not-affected',
    });
    checkVersions(trivy('GHSA-wjx8-cgrm-hh8p'), 'composer', 'Contao/Core-Bundle', {
      '3.5.0': 'not-affected',
      '4.4.45': 'affected',
      '4.4.46': 'not-affected',
      '4.5.0': 'affected',
      '4.8.6': 'not-affected',
    });
  });

  test('Maven versions-free open range (GHSA-32qq-m9fh-f74w) and an unknown ecosystem (SwiftURL)', () => {
    checkVersions(trivy('GHSA-32qq-m9fh-f74w'), 'Maven', 'com.baomidou:mybatis-plus', { '3.5.3.1': 'affected' });
    checkVersions(trivy('GHSA-7fj7-39wj-c64f'), 'SwiftURL', 'github.com/apple/swift-nio', {
      '2.41.0': 'ecosystem-unknown',
    });
    checkVersions(trivy('GHSA-7fj7-39wj-c64f'), 'SwiftURL', 'github.com/apple/swift-other', {
      '2.41.0': 'not-affected',
    });
  });
});

describe('PYSEC records', () => {
  test('PYSEC-2023-120 aiohttp: last_affected is inclusive, two ranges in one events list', () => {
    checkVersions(pysec('PYSEC-2023-120'), 'PyPI', 'aiohttp', {
      '3.8.4': { introduced: '0', lastAffected: '3.8.4' },
      '3.8.5': 'not-affected',
      '4.0.0': 'not-affected',
      '4.0.1': { introduced: '4.0.1', lastAffected: '4.0.1' },
      '4.0.2': 'not-affected',
    });
  });

  test('PYSEC-2018-27 qutebrowser: the GIT range beside an ECOSYSTEM range adds no unknown', () => {
    checkVersions(pysec('PYSEC-2018-27'), 'PyPI', 'qutebrowser', {
      '1.4.0': { fixed: '1.4.1' },
      '0.0.0': 'affected',
      '1.4.1': 'not-affected',
      '2.0.0': 'not-affected',
    });
  });

  test('withdrawn records never match (PYSEC-2023-73, and withdrawn_after_now whose date is in the future)', () => {
    checkVersions(pysec('PYSEC-2023-73'), 'PyPI', 'redis', { '4.5.3': 'not-affected', '2.10.6': 'not-affected' });
    checkVersions(pysec('withdrawn_after_now'), 'PyPI', 'scipy', { '0.12.0': 'not-affected' });
  });

  test('osvPackagesOf lists each named package once, as written', () => {
    assert.deepEqual(osvPackagesOf(pysec('PYSEC-2026-1')), [{ ecosystem: 'PyPI', name: 'Werkzeug' }]);
    assert.deepEqual(osvPackagesOf(reviewed('2024/01/GHSA-4jwq-572w-4388/GHSA-4jwq-572w-4388.json')), [
      { ecosystem: 'crates.io', name: 'evm' },
      { ecosystem: 'crates.io', name: 'evm-core' },
    ]);
    assert.deepEqual(osvPackagesOf('not a document'), []);
    assert.equal(
      matchOsv(pysec('PYSEC-2026-1'), { ecosystem: 'PyPI', packageName: 'werkzeug', version: '3.1.4' }).kind,
      'affected',
    );
  });
});
