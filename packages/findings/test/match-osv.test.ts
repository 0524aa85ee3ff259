// SPDX-License-Identifier: Apache-2.0
// The OSV matcher against stored GHSA (advisory-database and via trivy-db) and PyPA (PYSEC) records:
// ECOSYSTEM ranges of npm, PyPI, Maven, Go, crates.io, NuGet and Packagist, split entries, versions[]
// lists, last_affected, GIT ranges next to ECOSYSTEM ones, withdrawn records, and examples/node-app.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fixedVersionsOf, matchOsv } from '../src/index.ts';
import { checkVersions, fixture } from './match-cases.ts';
import { NODE_APP_PURLS } from './node-app.ts';

const reviewed = (path: string) => fixture(`ghsa/advisory-database/advisories/github-reviewed/${path}`);
const trivy = (id: string) => fixture(`ghsa/via-trivy-db/${id}.json`);

const SEMVER = reviewed('2023/06/GHSA-c2qf-rxjj-qqgw/GHSA-c2qf-rxjj-qqgw.json');
const PATH_TO_REGEXP = reviewed('2024/09/GHSA-9wv6-86v2-598j/GHSA-9wv6-86v2-598j.json');
const FORMIDABLE = trivy('GHSA-75v8-2h7p-7m2m');
const YARGS_PARSER = fixture(
  'ghsa/advisory-database/advisories/unreviewed/2022/02/GHSA-ghmj-crg5-xw2j/GHSA-ghmj-crg5-xw2j.json',
);

describe('examples/node-app against the GHSA records naming its packages', () => {
  const version = (name: string) => {
    const purl = NODE_APP_PURLS.find((p) => p.startsWith(`pkg:npm/${name}@`));
    assert.ok(purl, name);
    return purl.slice(purl.indexOf('@') + 1);
  };
  const npm = (doc: unknown, name: string) =>
    matchOsv(doc, { ecosystem: 'npm', packageName: name, version: version(name) });

  test('path-to-regexp 0.1.7 is inside GHSA-9wv6-86v2-598j [0, 0.1.10)', () => {
    const outcome = npm(PATH_TO_REGEXP, 'path-to-regexp');
    assert.deepEqual(outcome, {
      kind: 'affected',
      range: { type: 'ECOSYSTEM', introduced: '0', fixed: '0.1.10' },
      fixedVersions: ['0.1.10'],
    });
  });

  test('semver 7.5.1 is inside GHSA-c2qf-rxjj-qqgw [7.0.0, 7.5.2)', () => {
    const outcome = npm(SEMVER, 'semver');
    assert.deepEqual(outcome, {
      kind: 'affected',
      range: { type: 'ECOSYSTEM', introduced: '7.0.0', fixed: '7.5.2' },
      fixedVersions: ['7.5.2'],
    });
  });

  test('formidable 3.5.2 is inside GHSA-75v8-2h7p-7m2m [3.1.1-canary.20211030, 3.5.3)', () => {
    assert.deepEqual(npm(FORMIDABLE, 'formidable'), {
      kind: 'affected',
      range: { type: 'ECOSYSTEM', introduced: '3.1.1-canary.20211030', fixed: '3.5.3' },
      fixedVersions: ['3.5.3'],
    });
  });

  test('yargs-parser 13.1.1: GHSA-ghmj-crg5-xw2j (unreviewed duplicate) opens at 0 with no fix, so affected', () => {
    // The record's only range is `introduced: "0"` with no closing event; its database_specific
    // "last_known_affected_version_range: <= 5.0.0" is free-form and the OSV evaluation does not read it.
    assert.deepEqual(npm(YARGS_PARSER, 'yargs-parser'), {
      kind: 'affected',
      range: { type: 'ECOSYSTEM', introduced: '0' },
      fixedVersions: [],
    });
  });
});

describe('GHSA npm ranges', () => {
  test('semver: three split entries, each its own range and fix', () => {
    checkVersions(SEMVER, 'npm', 'semver', {
      '7.5.2': 'not-affected',
      '7.0.0': { introduced: '7.0.0', fixed: '7.5.2' },
      '7.0.0-rc.1': 'not-affected',
      '6.3.0': { introduced: '6.0.0', fixed: '6.3.1', fixedVersions: ['6.3.1'] },
      '6.3.1': 'not-affected',
      '5.7.1': { introduced: '0', fixed: '5.7.2' },
      '5.7.2': 'not-affected',
      'v7.5.1': 'affected',
      '7.5': 'version-unparseable',
    });
    assert.deepEqual(fixedVersionsOf(SEMVER, { ecosystem: 'npm', packageName: 'semver', version: '7.5.1' }), [
      '5.7.2',
      '6.3.1',
      '7.5.2',
    ]);
  });

  test('path-to-regexp: five ranges, gaps between them', () => {
    checkVersions(PATH_TO_REGEXP, 'npm', 'path-to-regexp', {
      '0.1.10': 'not-affected',
      '0.1.12': 'not-affected',
      '0.2.0': 'affected',
      '1.8.0': 'affected',
      '1.9.0': 'not-affected',
      '2.0.0': 'affected',
      '3.3.0': 'not-affected',
      '6.2.2': { fixed: '6.3.0' },
      '6.3.0': 'not-affected',
      '7.1.0': 'affected',
      '8.0.0': 'not-affected',
    });
  });

  test('formidable: a prerelease introduced, and an open range that also covers 3.5.3 and later', () => {
    // The second entry opens at 2.1.0 and never closes (its "< 2.1.3" is database_specific, free-form),
    // so by the OSV evaluation every version from 2.1.0 on is affected, the first entry's fix included.
    checkVersions(FORMIDABLE, 'npm', 'formidable', {
      '2.0.9': 'not-affected',
      '2.1.0': { introduced: '2.1.0', fixedVersions: [] },
      '2.1.5': 'affected',
      '3.1.1-canary.20211030': { introduced: '3.1.1-canary.20211030', fixed: '3.5.3', fixedVersions: ['3.5.3'] },
      '3.5.2': { fixed: '3.5.3' },
      '3.5.3': { introduced: '2.1.0', fixedVersions: [] },
    });
  });

  test('another npm package, or the same name in another ecosystem, is not named', () => {
    checkVersions(SEMVER, 'npm', 'semver-regex', { '1.0.0': 'not-affected' });
    checkVersions(SEMVER, 'crates.io', 'semver', { '1.0.0': 'not-affected' });
  });
});
