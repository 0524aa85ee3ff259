// SPDX-License-Identifier: Apache-2.0
// The OSV matcher on small synthetic documents, one rule of the OSV "Evaluation" section each, and a
// property test on generated SEMVER ranges.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { matchOsv } from '../src/index.ts';
import { checkVersions } from './match-cases.ts';

type Event = Record<string, string>;
const range = (type: string, ...events: Event[]) => ({ type, events });
const osv = (ecosystem: string, name: string, ranges: unknown[], extra: Record<string, unknown> = {}) => ({
  id: 'TEST-1',
  affected: [{ package: { ecosystem, name }, ranges, ...extra }],
});

describe('synthetic OSV documents', () => {
  test('withdrawn: never matches, whatever its ranges say', () => {
    const doc = { ...osv('npm', 'a', [range('SEMVER', { introduced: '0' })]), withdrawn: '2024-01-01T00:00:00Z' };
    checkVersions(doc, 'npm', 'a', { '1.0.0': 'not-affected' });
  });

  test('GIT-only: unknown unless versions[] lists the version', () => {
    const git = { type: 'GIT', repo: 'https://example.org/a.git', events: [{ introduced: '0' }, { fixed: 'abc123' }] };
    checkVersions(osv('npm', 'a', [git]), 'npm', 'a', { '1.0.0': 'range-unsupported' });
    const listed = osv('npm', 'a', [git], { versions: ['1.0.0', '1.0.1'] });
    checkVersions(listed, 'npm', 'a', { '1.0.0': { fixedVersions: [] }, '1.0.2': 'not-affected' });
  });

  test('no ranges and no versions: unknown, not a guess either way', () => {
    checkVersions(osv('npm', 'a', []), 'npm', 'a', { '1.0.0': 'range-unsupported' });
  });

  test('versions[] only: the exact string or equal in the ecosystem order (Maven 1.0 = 1.0.0)', () => {
    const doc = { affected: [{ package: { ecosystem: 'Maven', name: 'g:a' }, versions: ['1.0', '2.0.1'] }] };
    checkVersions(doc, 'Maven', 'g:a', { '1.0.0': 'affected', '2.0.1': 'affected', '2.0.2': 'not-affected' });
  });

  test('unknown ecosystem: ECOSYSTEM ranges cannot be ordered; SEMVER ranges still can', () => {
    checkVersions(osv('Nope', 'a', [range('ECOSYSTEM', { introduced: '0' })]), 'Nope', 'a', {
      '1.0.0': 'ecosystem-unknown',
    });
    checkVersions(osv('Nope', 'a', [range('SEMVER', { introduced: '1.0.0' })]), 'nope', 'a', { '1.0.0': 'affected' });
  });

  test('unparseable component version or range event: unknown, not guessed', () => {
    const doc = osv('npm', 'a', [range('SEMVER', { introduced: '0' }, { fixed: '2.0.0' })]);
    checkVersions(doc, 'npm', 'a', { 'not-a-version': 'version-unparseable', '1.0': 'version-unparseable' });
    const bad = osv('npm', 'a', [range('ECOSYSTEM', { introduced: '0' }, { fixed: 'two' })]);
    checkVersions(bad, 'npm', 'a', { '1.0.0': 'version-unparseable' });
  });

  test('limit caps the range (exclusive), "*" caps nothing', () => {
    const doc = osv('npm', 'a', [range('SEMVER', { introduced: '1.0.0' }, { limit: '2.0.0' })]);
    checkVersions(doc, 'npm', 'a', { '0.9.0': 'not-affected', '1.5.0': { limit: '2.0.0' }, '2.0.0': 'not-affected' });
    const endless = osv('npm', 'a', [range('SEMVER', { introduced: '1.0.0' }, { limit: '*' })]);
    checkVersions(endless, 'npm', 'a', { '9.0.0': 'affected' });
  });

  test('last_affected is inclusive', () => {
    const doc = osv('PyPI', 'a', [range('ECOSYSTEM', { introduced: '1.0' }, { last_affected: '1.4' })]);
    checkVersions(doc, 'PyPI', 'a', { '1.4': { lastAffected: '1.4' }, '1.4.0': 'affected', '1.4.1': 'not-affected' });
  });

  test('multiple ranges, unsorted events, introduced "0"', () => {
    const events: Event[] = [{ fixed: '1.2.0' }, { introduced: '2.0.0' }, { fixed: '2.1.0' }, { introduced: '0' }];
    const doc = osv('npm', 'a', [range('SEMVER', ...events), range('ECOSYSTEM', { introduced: '5.0.0' })]);
    checkVersions(doc, 'npm', 'a', {
      '0.0.0': { introduced: '0', fixed: '1.2.0', fixedVersions: ['1.2.0', '2.1.0'] },
      '1.2.0': 'not-affected',
      '2.0.5': { introduced: '2.0.0', fixed: '2.1.0' },
      '3.0.0': 'not-affected',
      '5.1.0': { introduced: '5.0.0' },
    });
  });

  test('affected wins over unknown wins over not-affected across entries', () => {
    const entry = (ranges: unknown[]) => ({ package: { ecosystem: 'npm', name: 'a' }, ranges });
    const unknown = entry([{ type: 'GIT', events: [{ introduced: '0' }] }]);
    const no = entry([range('SEMVER', { introduced: '3.0.0' })]);
    const yes = entry([range('SEMVER', { introduced: '1.0.0' })]);
    checkVersions({ affected: [no, unknown, yes] }, 'npm', 'a', { '1.0.0': 'affected' });
    checkVersions({ affected: [no, unknown] }, 'npm', 'a', { '1.0.0': 'range-unsupported' });
    checkVersions({ affected: [no] }, 'npm', 'a', { '1.0.0': 'not-affected' });
  });

  test('release-suffixed ecosystems: Debian:12 meets Debian:12 and bare Debian; bare Debian meets Debian:*', () => {
    const d12 = osv('Debian:12', 'openssl', [range('ECOSYSTEM', { introduced: '0' }, { fixed: '3.0.11-1~deb12u1' })]);
    const bare = osv('Debian', 'openssl', [range('ECOSYSTEM', { introduced: '0' }, { fixed: '3.0.11-1' })]);
    checkVersions(d12, 'Debian:12', 'openssl', { '3.0.9-1': 'affected', '3.0.11-1~deb12u1': 'not-affected' });
    checkVersions(d12, 'Debian:11', 'openssl', { '3.0.9-1': 'not-affected' });
    checkVersions(d12, 'debian', 'openssl', { '3.0.9-1': 'affected' });
    checkVersions(bare, 'Debian:12', 'openssl', { '3.0.9-1': 'affected' });
    const alpine = osv('Alpine:v3.18', 'musl', [range('ECOSYSTEM', { introduced: '0' }, { fixed: '1.2.4-r1' })]);
    checkVersions(alpine, 'Alpine:3.18', 'musl', { '1.2.4-r0': 'affected' });
  });

  test('Maven and Packagist repository suffixes narrow like a release', () => {
    const google = osv('Maven:https://maven.google.com', 'g:a', [range('ECOSYSTEM', { introduced: '0' })]);
    checkVersions(google, 'Maven', 'g:a', { '1.0': 'affected' });
    checkVersions(google, 'Maven:https://maven.google.com', 'g:a', { '1.0': 'affected' });
    checkVersions(google, 'Maven:https://repo.example.org', 'g:a', { '1.0': 'not-affected' });
    checkVersions(osv('npm:x', 'a', [range('ECOSYSTEM', { introduced: '0' })]), 'npm', 'a', {
      '1.0.0': 'not-affected',
    });
  });

  test('bad documents name nothing', () => {
    for (const doc of [null, 42, 'x', [], { affected: 'x' }, { affected: [{ package: 'x' }] }])
      assert.deepEqual(matchOsv(doc, { ecosystem: 'npm', packageName: 'a', version: '1.0.0' }), {
        kind: 'not-affected',
      });
  });
});

type Triple = [number, number, number];
const triple = fc.tuple(fc.nat(20), fc.nat(20), fc.nat(20));
const text = ([a, b, c]: Triple) => `${a}.${b}.${c}`;
const byPrecedence = (x: Triple, y: Triple) => x[0] - y[0] || x[1] - y[1] || x[2] - y[2];

test('property: strictly between introduced and fixed is affected; below introduced or at/above fixed is not', () => {
  fc.assert(
    fc.property(fc.uniqueArray(triple, { minLength: 5, maxLength: 5, selector: text }), (five) => {
      const [below, introduced, between, fixed, above] = [...five].sort(byPrecedence);
      if (!below || !introduced || !between || !fixed || !above) return;
      const doc = osv('npm', 'p', [range('SEMVER', { introduced: text(introduced) }, { fixed: text(fixed) })]);
      const kind = (v: Triple) => matchOsv(doc, { ecosystem: 'npm', packageName: 'p', version: text(v) }).kind;
      assert.equal(kind(below), 'not-affected');
      assert.equal(kind(introduced), 'affected');
      assert.equal(kind(between), 'affected');
      assert.equal(kind(fixed), 'not-affected');
      assert.equal(kind(above), 'not-affected');
    }),
  );
});
