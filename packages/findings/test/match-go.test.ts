// SPDX-License-Identifier: Apache-2.0
// The OSV matcher against the Go vulnerability database's own records (osv-go/current): SEMVER ranges
// written without the `v` Go module versions carry, pseudo-versions, +incompatible, withdrawn records.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { advisoryFixtures } from '@stella/testkit';
import { matchOsv, osvPackagesOf } from '../src/index.ts';
import { checkVersions, fixture } from './match-cases.ts';

const go = (id: string) => fixture(`osv-go/current/${id}.json`);

describe('Go vulndb SEMVER ranges', () => {
  test('GO-2024-2687: golang.org/x/net below 0.23.0 and the two stdlib ranges', () => {
    const doc = go('GO-2024-2687');
    checkVersions(doc, 'Go', 'golang.org/x/net', {
      'v0.0.0-20190311183353-d8887717615a': { introduced: '0', fixed: '0.23.0', fixedVersions: ['0.23.0'] },
      'v0.22.0': 'affected',
      'v0.23.0-rc.1': 'affected',
      'v0.23.0': 'not-affected',
      '0.23.0': 'not-affected',
      'v0.23.1-0.20240401000000-abcdefabcdef': 'not-affected',
      'v0.24.0': 'not-affected',
    });
    checkVersions(doc, 'Go', 'stdlib', {
      '1.21.8': { fixed: '1.21.9', fixedVersions: ['1.21.9', '1.22.2'] },
      '1.21.9': 'not-affected',
      '1.21.10': 'not-affected',
      '1.22.0-rc.1': { introduced: '1.22.0-0', fixed: '1.22.2' },
      '1.22.1': 'affected',
      '1.22.2': 'not-affected',
    });
    // Another module of the same record's ecosystem is not named by it.
    checkVersions(doc, 'Go', 'golang.org/x/crypto', { 'v0.1.0': 'not-affected' });
  });

  test('GO-2022-0969: a pseudo-version as the fix of golang.org/x/net', () => {
    checkVersions(go('GO-2022-0969'), 'Go', 'golang.org/x/net', {
      'v0.0.0-20220906165146-f3363e06e74b': { fixed: '0.0.0-20220906165146-f3363e06e74c' },
      'v0.0.0-20220101000000-000000000000': 'affected',
      'v0.0.0-20220906165146-f3363e06e74c': 'not-affected',
      'v0.0.0-20221001000000-000000000000': 'not-affected',
      'v0.1.0': 'not-affected',
    });
  });

  test('GO-2024-3005: three +incompatible ranges of github.com/docker/docker', () => {
    checkVersions(go('GO-2024-3005'), 'Go', 'github.com/docker/docker', {
      'v20.10.27+incompatible': { introduced: '20.10.0+incompatible', fixed: '25.0.6+incompatible' },
      'v20.10.0+incompatible': 'affected',
      'v19.3.15+incompatible': 'not-affected',
      'v25.0.6+incompatible': 'not-affected',
      'v26.0.0+incompatible': 'affected',
      'v26.1.5+incompatible': 'not-affected',
      'v27.1.0+incompatible': 'affected',
      'v27.1.1+incompatible': 'not-affected',
    });
  });

  test('GO-2025-4148: release-candidate bounds', () => {
    checkVersions(go('GO-2025-4148'), 'Go', 'github.com/mattermost/mattermost-server', {
      'v4.2.0-rc1+incompatible': 'affected',
      'v4.1.9+incompatible': 'not-affected',
      'v4.2.0+incompatible': 'not-affected',
      'v4.3.0-rc2+incompatible': 'affected',
      'v4.3.0+incompatible': 'not-affected',
    });
  });

  test('withdrawn records (GO-2022-0617, GO-2024-2730) never match, though their range covers everything', () => {
    checkVersions(go('GO-2022-0617'), 'Go', 'k8s.io/kubernetes', { 'v1.20.0': 'not-affected' });
    checkVersions(go('GO-2024-2730'), 'Go', 'github.com/gorilla/sessions', { 'v1.2.1': 'not-affected' });
  });

  test('every current record: each non-zero introduced is affected, each event parses', () => {
    const dir = join(advisoryFixtures(), 'osv-go/current');
    let asserted = 0;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      const doc = fixture(`osv-go/current/${file}`);
      if (typeof doc === 'object' && doc !== null && 'withdrawn' in doc) continue;
      const events = eventsByPackage(doc);
      for (const { name, introduced, fixed } of events) {
        for (const version of introduced.filter((v) => v !== '0')) {
          assert.equal(matchOsv(doc, { ecosystem: 'Go', packageName: name, version }).kind, 'affected', file);
          asserted++;
        }
        for (const version of fixed) {
          assert.notEqual(matchOsv(doc, { ecosystem: 'Go', packageName: name, version }).kind, 'unknown', file);
          asserted++;
        }
      }
    }
    assert.ok(asserted > 250, `asserted ${asserted}`);
  });
});

/** The introduced and fixed versions each package of a record names, read without casts. */
function eventsByPackage(doc: unknown): { name: string; introduced: string[]; fixed: string[] }[] {
  return osvPackagesOf(doc).map(({ name }) => {
    const introduced: string[] = [];
    const fixed: string[] = [];
    const affected = typeof doc === 'object' && doc !== null && 'affected' in doc ? doc.affected : [];
    for (const entry of Array.isArray(affected) ? affected : []) {
      if (entry?.package?.name !== name) continue;
      for (const range of entry.ranges ?? [])
        for (const event of range.events ?? []) {
          if (typeof event.introduced === 'string') introduced.push(event.introduced);
          if (typeof event.fixed === 'string') fixed.push(event.fixed);
        }
    }
    return { name, introduced, fixed };
  });
}
