// SPDX-License-Identifier: Apache-2.0
// The policy parser on hostile input (what POST /policy/snapshots and `stella policy lint` receive):
// it never throws, every diagnostic points at a real line and column, and a policy it accepts has
// a stable canonical form. The mutation property also reaches acceptance, so it is not only refusals.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { canonicalPolicy, parsePolicy } from '../src/policy/index.ts';

const RUNS = Number(process.env.STELLA_FUZZ_RUNS ?? 1000);
const NOW = new Date('2026-12-03T00:00:00Z');
const EXAMPLE = readFileSync(new URL('../../../examples/node-app/policy.yaml', import.meta.url), 'utf8');

function checkParse(text: string): boolean {
  const { policy, diagnostics } = parsePolicy(text, { now: NOW });
  const lines = text.split(/\r\n|\r|\n/).length;
  for (const d of diagnostics) {
    assert.ok(d.line >= 1 && d.line <= lines + 1, `line ${d.line} of ${lines}: ${d.message}`);
    assert.ok(d.column >= 1, `column ${d.column}`);
  }
  if (policy) {
    assert.equal(diagnostics.filter((d) => d.severity === 'error').length, 0);
    const again = parsePolicy(canonicalPolicy(policy), { now: NOW }).policy;
    assert.ok(again, 'the canonical JSON of an accepted policy is itself accepted');
    assert.equal(canonicalPolicy(again), canonicalPolicy(policy));
  }
  return policy !== undefined;
}

test('arbitrary text and arbitrary JSON never throw; diagnostics point inside the text', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 400 }), fc.json({ maxDepth: 4 })), (text) => {
      checkParse(text);
    }),
    { numRuns: RUNS },
  );
});

test('the example policy with lines dropped, duplicated or swapped: never throws, and some variants still pass', () => {
  const lines = EXAMPLE.split('\n');
  let accepted = 0;
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          op: fc.constantFrom('drop', 'duplicate', 'swap', 'indent'),
          at: fc.nat({ max: lines.length - 1 }),
          to: fc.nat({ max: lines.length - 1 }),
        }),
        { maxLength: 3 },
      ),
      (edits) => {
        const copy = [...lines];
        for (const { op, at, to } of edits) {
          if (at >= copy.length || to >= copy.length) continue;
          if (op === 'drop') copy.splice(at, 1);
          else if (op === 'duplicate') copy.splice(at, 0, copy[at]!);
          else if (op === 'indent') copy[at] = ` ${copy[at]}`;
          else [copy[at], copy[to]] = [copy[to]!, copy[at]!];
        }
        if (checkParse(copy.join('\n'))) accepted++;
      },
    ),
    { numRuns: RUNS },
  );
  assert.ok(accepted > 0, 'some mutated policies are still valid');
});
