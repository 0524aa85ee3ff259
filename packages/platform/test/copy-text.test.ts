// The COPY text-format encoder, pure: the escapes PostgreSQL's COPY reads back, NULL, array literals,
// and the values text cannot hold. The round trip through a real server is in copy-from.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StellaError } from '@stella/core';
import { copyTextField, copyTextRow, textArrayLiteral } from '../src/db/copy-text.ts';

/** COPY's own reading of a text-format field (the escapes this encoder writes, and \N). */
function decodeField(field: string): string | null {
  if (field === '\\N') return null;
  const named: Record<string, string> = { '\\': '\\', t: '\t', n: '\n', r: '\r' };
  return field.replace(/\\(.)/g, (_, c: string) => named[c] ?? c);
}

test('backslash, tab, newline and carriage return are escaped; everything else is sent as it is', () => {
  assert.equal(copyTextField('plain GO-2024-0001 é 😀 "quoted" \u00a0'), 'plain GO-2024-0001 é 😀 "quoted" \u00a0');
  assert.equal(copyTextField('a\\b\tc\nd\re'), 'a\\\\b\\tc\\nd\\re');
  assert.equal(copyTextField('\\N'), '\\\\N', 'the text \\N is not NULL');
  assert.equal(copyTextField('\\.'), '\\\\.', 'a value is never the end-of-data marker');
  assert.equal(copyTextField(''), '');
  assert.equal(copyTextField(null), '\\N');
});

test('a row of hostile values has exactly one tab per field boundary and one newline, and decodes back', () => {
  const values = [
    '{\n  "id": "GO-1",\n\t"details": "C:\\\\path\\\\to\\r\\n"\n}',
    '\t\t',
    '\\\\\\',
    '\r\n\r\n',
    '\\t is not a tab',
    'NULL',
    null,
    'x\u2028y\u2029z',
  ];
  const row = copyTextRow(values);
  assert.ok(row.endsWith('\n'));
  const body = row.slice(0, -1);
  assert.ok(!body.includes('\n') && !body.includes('\r'), 'no raw line break inside the row');
  const fields = body.split('\t');
  assert.equal(fields.length, values.length);
  assert.deepEqual(fields.map(decodeField), values);
});

test('NUL and lone surrogates are refused as ERR_INVALID_TEXT, the code the write guard gives them', () => {
  for (const value of ['a\u0000b', '\u0000', 'x\ud800', '\udfffy']) {
    assert.throws(
      () => copyTextField(value),
      (error: StellaError) => error.code === 'ERR_INVALID_TEXT',
      JSON.stringify(value),
    );
  }
  // The JSON escape \u0000 is six ordinary characters: text holds it (raw documents may carry it).
  assert.equal(copyTextField('"\\u0000"'), '"\\\\u0000"');
});

test('text[] literals quote every element, so commas, braces, blanks, quotes and NULL stay text', () => {
  assert.equal(textArrayLiteral([]), '{}');
  assert.equal(textArrayLiteral(['pkg:npm/a']), '{"pkg:npm/a"}');
  assert.equal(
    textArrayLiteral(['a,b', '{c}', ' d ', 'e"f', 'g\\h', 'NULL', '']),
    '{"a,b","{c}"," d ","e\\"f","g\\\\h","NULL",""}',
  );
  // Inside a COPY field the literal's own backslashes are escaped once more.
  assert.equal(copyTextField(textArrayLiteral(['e"f'])), '{"e\\\\"f"}');
});
