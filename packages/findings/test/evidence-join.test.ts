// SPDX-License-Identifier: Apache-2.0
// The evidence join, pure: which targets of a Signals fact belong to a finding (its id, aliases or a
// source's upstream id, within its package), how several targets combine, and why a state is unknown.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { joinEvidence } from '../src/evidence/join.ts';
import { reachabilityOf, type SubjectFact } from '../src/evidence/reachability.ts';
import type { Finding, ScanReport } from '../src/scan/scan.ts';

const keyOf = (purl: string) => purl.replace(/@[^@/]*$/, '');

const finding: Finding = {
  component: { ref: 'semver@7.5.1', purl: 'pkg:npm/semver@7.5.1', name: 'semver', version: '7.5.1', ecosystem: 'npm' },
  vulnerabilityId: 'CVE-2022-25883',
  aliases: ['GHSA-c2qf-rxjj-qqgw'],
  fixedVersions: ['7.5.2'],
  sources: [
    {
      recordId: 'advisory_raw:ghsa:GHSA-c2qf-rxjj-qqgw:1',
      vendor: 'ghsa',
      upstreamId: 'GHSA-c2qf-rxjj-qqgw',
      contentHash: `sha256:${'a'.repeat(64)}`,
      severity: [],
      range: { type: 'ECOSYSTEM', introduced: '7.0.0', fixed: '7.5.2' },
    },
  ],
};

const fact = (states: SubjectFact['states']): SubjectFact => ({
  subjectKey: 'app|1.0.0',
  factVersion: 3,
  digest: `sha256:${'f'.repeat(64)}`,
  states,
});
const cite = { subjectKey: 'app|1.0.0', digest: `sha256:${'f'.repeat(64)}`, factVersion: 3 };

describe('reachabilityOf', () => {
  test('no subject, no fact, no target: unknown with the reason', () => {
    assert.deepEqual(reachabilityOf(finding, undefined, undefined, keyOf), {
      state: 'unknown',
      lattice: 'Unknown',
      path: [],
      reason: 'no-subject',
    });
    assert.equal(reachabilityOf(finding, 'app|1.0.0', undefined, keyOf).reason, 'no-fact');
    const other = fact([{ advisoryId: 'CVE-2024-45296', state: 'StaticallyReachable', path: ['a', 'b'] }]);
    assert.deepEqual(reachabilityOf(finding, 'app|1.0.0', other, keyOf), {
      state: 'unknown',
      lattice: 'Unknown',
      path: [],
      reason: 'no-target',
      fact: cite,
    });
  });

  test('a target named by an alias (case-insensitive) in the same package decides; another package does not', () => {
    const states = [
      { advisoryId: 'ghsa-c2qf-rxjj-qqgw', package: 'pkg:npm/lodash', state: 'ConfirmedReachable', path: ['x'] },
      { advisoryId: 'GHSA-c2qf-rxjj-qqgw', package: 'pkg:npm/semver', state: 'StaticallyReachable', path: ['s', 'm'] },
    ];
    assert.deepEqual(reachabilityOf(finding, 'app|1.0.0', fact(states), keyOf), {
      state: 'reachable',
      lattice: 'StaticallyReachable',
      path: ['s', 'm'],
      fact: cite,
    });
  });

  test('several targets: the strongest reachable one wins with its path; all unreachable gives the weakest proof', () => {
    const reachable = fact([
      { advisoryId: 'CVE-2022-25883', state: 'StaticallyReachable', path: ['a'] },
      { advisoryId: 'CVE-2022-25883', state: 'StaticallyUnreachable', path: [] },
      { advisoryId: 'CVE-2022-25883', state: 'RuntimeObserved', path: ['b', 'c'] },
    ]);
    const r = reachabilityOf(finding, 'app|1.0.0', reachable, keyOf);
    assert.equal(r.state, 'reachable');
    assert.equal(r.lattice, 'RuntimeObserved');
    assert.deepEqual(r.path, ['b', 'c']);
    const unreachable = fact([
      { advisoryId: 'CVE-2022-25883', state: 'ConfirmedUnreachable', path: [] },
      { advisoryId: 'CVE-2022-25883', state: 'StaticallyUnreachable', path: [] },
    ]);
    assert.deepEqual(reachabilityOf(finding, 'app|1.0.0', unreachable, keyOf), {
      state: 'unreachable',
      lattice: 'StaticallyUnreachable',
      path: [],
      fact: cite,
    });
  });

  test('one unknown target next to unreachable ones keeps the finding unknown; RuntimeUnobserved and Contested are unknown', () => {
    for (const state of ['Unknown', 'RuntimeUnobserved', 'Contested']) {
      const mixed = fact([
        { advisoryId: 'CVE-2022-25883', state: 'StaticallyUnreachable', path: [] },
        { advisoryId: 'CVE-2022-25883', state, path: [] },
      ]);
      const r = reachabilityOf(finding, 'app|1.0.0', mixed, keyOf);
      assert.deepEqual([r.state, r.lattice, r.reason], ['unknown', state, undefined]);
    }
  });
});

describe('joinEvidence', () => {
  test('findings gain their statements and state; the report names the subject and the fact once', () => {
    const report: ScanReport = { components: 9, findings: [finding], undecided: [], notEvaluated: { NVD: 1 } };
    const joined = joinEvidence(report, {
      subjectKey: 'app|1.0.0',
      fact: fact([{ advisoryId: 'CVE-2022-25883', state: 'StaticallyUnreachable', path: [] }]),
      vexFor: (f) => (f.vulnerabilityId === 'CVE-2022-25883' ? [] : assert.fail('asked for another finding')),
      packageKeyOf: keyOf,
    });
    assert.equal(joined.subjectKey, 'app|1.0.0');
    assert.deepEqual(joined.fact, { factVersion: 3, digest: `sha256:${'f'.repeat(64)}` });
    assert.deepEqual(joined.notEvaluated, { NVD: 1 });
    assert.equal(joined.findings[0]!.reachability.state, 'unreachable');
    assert.deepEqual(joined.findings[0]!.vex, []);
    const none = joinEvidence(report, {
      subjectKey: undefined,
      fact: undefined,
      vexFor: () => [],
      packageKeyOf: keyOf,
    });
    assert.deepEqual([none.subjectKey, none.fact], [null, null]);
  });
});
