import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson } from '../src/canonical-json.ts';

test('keys sort by UTF-16 code units at every depth; no whitespace', () => {
  const value = { z: 1, a: { y: [3, { b: 2, a: 1 }], x: 'é' }, é: true, '\u{1F600}': null, Z: false, '': 0 };
  assert.equal(
    canonicalJson(value),
    '{"":0,"Z":false,"a":{"x":"é","y":[3,{"a":1,"b":2}]},"z":1,"é":true,"\u{1F600}":null}',
  );
});

test('undefined and functions are dropped from objects; undefined is null in arrays', () => {
  assert.equal(canonicalJson({ a: undefined, b: () => 1, c: [undefined, 1] }), '{"c":[null,1]}');
});

test('numbers, strings and toJSON follow JSON.stringify; non-finite numbers and bigint are refused', () => {
  assert.equal(
    canonicalJson([1e21, -0, 0.1, 'a"\n', new Date(0)]),
    '[1e+21,0,0.1,"a\\"\\n","1970-01-01T00:00:00.000Z"]',
  );
  assert.throws(() => canonicalJson({ n: Number.NaN }), /non-finite/);
  assert.throws(() => canonicalJson(1n), /bigint/);
});

test('the same value built in another key order gives the same text', () => {
  assert.equal(canonicalJson({ b: { d: 1, c: 2 }, a: [] }), canonicalJson({ a: [], b: { c: 2, d: 1 } }));
});
