// SPDX-License-Identifier: Apache-2.0
// Table-driven checks for the OSV matcher: a fixture document read as stored, and for one package a
// list of versions with the outcome each must get.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { advisoryFixtures } from '@stella/testkit';
import { type MatchOutcome, matchOsv } from '../src/index.ts';

/** One fixture document under the shared advisory fixtures, parsed; never edited. */
export const fixture = (relative: string): unknown =>
  JSON.parse(readFileSync(join(advisoryFixtures(), relative), 'utf8'));

/** `affected` (optionally with the fixed bound of the matched range), `not-affected`, or an unknown reason. */
export type Expected =
  | 'affected'
  | 'not-affected'
  | 'ecosystem-unknown'
  | 'version-unparseable'
  | 'range-unsupported'
  | { fixed?: string; lastAffected?: string; introduced?: string; limit?: string; fixedVersions?: string[] };

export function expectOutcome(outcome: MatchOutcome, expected: Expected, label: string): void {
  if (expected === 'affected' || expected === 'not-affected') {
    assert.equal(outcome.kind, expected, `${label}: ${JSON.stringify(outcome)}`);
    return;
  }
  if (typeof expected === 'string') {
    assert.equal(outcome.kind, 'unknown', `${label}: ${JSON.stringify(outcome)}`);
    if (outcome.kind === 'unknown') assert.equal(outcome.reason, expected, label);
    return;
  }
  assert.equal(outcome.kind, 'affected', `${label}: ${JSON.stringify(outcome)}`);
  if (outcome.kind !== 'affected') return;
  for (const field of ['fixed', 'lastAffected', 'introduced', 'limit'] as const)
    if (expected[field] !== undefined) assert.equal(outcome.range[field], expected[field], `${label}: ${field}`);
  if (expected.fixedVersions) assert.deepEqual(outcome.fixedVersions, expected.fixedVersions, label);
}

/** Every version of `cases` against `doc` for one package; returns how many were asserted. */
export function checkVersions(
  doc: unknown,
  ecosystem: string,
  packageName: string,
  cases: Record<string, Expected>,
): number {
  for (const [version, expected] of Object.entries(cases))
    expectOutcome(matchOsv(doc, { ecosystem, packageName, version }), expected, `${packageName}@${version}`);
  return Object.keys(cases).length;
}
