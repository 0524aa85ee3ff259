// SPDX-License-Identifier: Apache-2.0
// Helpers that turn upstream test vectors into assertions: ordered lists (every pair, both ways),
// `a op b` triples, and strings that must be refused with the coded error.
import assert from 'node:assert/strict';
import { StellaError } from '@stella/core';
import { compareVersions } from '../../src/index.ts';

export type Op = '<' | '=' | '>';
const ORDER: Record<Op, number> = { '<': -1, '=': 0, '>': 1 };

export function assertPair(ecosystem: string, a: string, op: Op, b: string): void {
  assert.equal(compareVersions(ecosystem, a, b), ORDER[op], `${ecosystem}: ${a} ${op} ${b}`);
  assert.equal(compareVersions(ecosystem, b, a), -ORDER[op] || 0, `${ecosystem}: ${b} against ${a} (reversed)`);
}

export function assertPairs(ecosystem: string, pairs: readonly (readonly [string, Op, string])[]): void {
  for (const [a, op, b] of pairs) assertPair(ecosystem, a, op, b);
}

/** Every earlier entry sorts strictly before every later one. */
export function assertAscending(ecosystem: string, versions: readonly string[]): void {
  for (let i = 0; i < versions.length; i++)
    for (let j = i + 1; j < versions.length; j++) assertPair(ecosystem, versions[i] ?? '', '<', versions[j] ?? '');
}

/** All entries are equal to each other. */
export function assertEqualAll(ecosystem: string, versions: readonly string[]): void {
  for (const a of versions) for (const b of versions) assertPair(ecosystem, a, '=', b);
}

export function assertRefused(ecosystem: string, versions: readonly string[]): void {
  for (const version of versions)
    assert.throws(
      () => compareVersions(ecosystem, version, version),
      (error: unknown) => error instanceof StellaError && error.code === 'ERR_VERSION_UNPARSEABLE' && error.exit === 2,
      `${ecosystem}: ${JSON.stringify(version)} must be refused`,
    );
}

/** Reads `a op b` lines (apk-tools' test/version.data format); `#` starts a comment. */
export function parseOpLines(text: string): [string, Op, string][] {
  return text
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [a, op, b] = line.split(/\s+/);
      if (a === undefined || b === undefined || (op !== '<' && op !== '=' && op !== '>'))
        throw new Error(`bad vector line: ${line}`);
      return [a, op, b];
    });
}
