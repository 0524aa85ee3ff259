import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitFor } from '../src/index.ts';

describe('waitFor', () => {
  test('returns the first answer that is not undefined, null or false', async () => {
    const answers: unknown[] = [undefined, null, false, 0];
    const value = await waitFor('a number', () => answers.shift() as number | undefined);
    assert.equal(value, 0);
  });

  test('fails at its deadline, naming what it waited for as last seen', async () => {
    let seen = 0;
    await assert.rejects(
      waitFor(
        () => `the counter to reach 1000 (at ${seen})`,
        () => ++seen >= 1000,
        { deadlineMs: 30, intervalMs: 5 },
      ),
      (error: Error) => /^waited 30 ms for the counter to reach 1000 \(at \d+\)$/.test(error.message),
    );
    assert.ok(seen < 1000);
  });

  test('a probe that throws fails the wait with its error', async () => {
    await assert.rejects(
      waitFor('never', () => {
        throw new Error('the process exited');
      }),
      /the process exited/,
    );
  });
});
