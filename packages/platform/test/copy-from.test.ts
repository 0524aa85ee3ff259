// Tx.copyFrom on a real database: present exactly where the backend's capability says so, hostile
// text through the COPY text format comes back byte for byte, and a refused COPY rolls back.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type TestDb, testBackend, testDb } from '@stella/testkit';
import { copyTextRow, textArrayLiteral } from '../src/db/copy-text.ts';
import { CAPABILITIES } from '../src/db/index.ts';

const canCopy = CAPABILITIES[testBackend()].copyFrom;

describe(`COPY FROM STDIN on ${testBackend()}`, () => {
  let t: TestDb;
  before(async () => {
    t = await testDb();
  });
  after(() => t.close());

  test('a transaction offers copyFrom exactly when the backend can COPY', async () => {
    const offered = await t.db.transaction(async (tx) => typeof tx.copyFrom === 'function');
    assert.equal(offered, canCopy);
  });

  test('hostile text, NULL, jsonb and text[] come back exactly as sent', {
    skip: !canCopy && 'needs copyFrom',
  }, async () => {
    const rows: Array<[string, string | null, string, string[]]> = [
      ['tabs\tand\nnewlines\r\n', null, '{"k":"v\\n\\t\\\\"}', ['a,b', '{c}', 'e"f', 'g\\h']],
      ['\\N', '\\.', '{"u":"\\u00e9 😀"}', ['NULL', '']],
      ['', '', '[]', []],
    ];
    const back = await t.db.transaction(async (tx) => {
      await tx.query('create temp table copied (n int, a text, b text, j jsonb, p text[]) on commit drop');
      const count = await tx.copyFrom!(
        'copy copied (n, a, b, j, p) from stdin',
        rows.map(([a, b, j, p], n) => copyTextRow([String(n), a, b, j, textArrayLiteral(p)])),
      );
      assert.equal(count, rows.length);
      return (
        await tx.query<{ a: string; b: string | null; j: unknown; p: string[] }>(
          'select a, b, j, p from copied order by n',
        )
      ).rows;
    });
    assert.deepEqual(
      back,
      rows.map(([a, b, j, p]) => ({ a, b, j: JSON.parse(j), p })),
    );
  });

  test('a value the server refuses fails the COPY with its SQLSTATE and nothing commits', {
    skip: !canCopy && 'needs copyFrom',
  }, async () => {
    await t.db.query('create table copy_target (n int not null)');
    await assert.rejects(
      t.db.transaction(async (tx) => {
        await tx.copyFrom!('copy copy_target (n) from stdin', [copyTextRow(['1']), copyTextRow(['not a number'])]);
      }),
      (error: { code?: string }) => error.code === '22P02',
    );
    const left = await t.db.query<{ n: number }>('select count(*)::int as n from copy_target');
    assert.equal(left.rows[0]!.n, 0);
    // The connection went back to the pool in a clean state.
    assert.equal((await t.db.transaction((tx) => tx.query<{ one: number }>('select 1 as one'))).rows[0]!.one, 1);
  });
});
