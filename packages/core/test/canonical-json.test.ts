import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson, serialize } from '../src/canonical-json.ts';

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

test('array-index keys sort as text, not as numbers', () => {
  assert.equal(
    canonicalJson({ 10: 'a', 9: 'b', '-1': 'c', '01': 'd', a: { 2: 1, 10: 2 } }),
    '{"-1":"c","01":"d","10":"a","9":"b","a":{"10":2,"2":1}}',
  );
});

test('a key named __proto__ is written like any other key', () => {
  const value = JSON.parse('{"b":1,"__proto__":{"x":1}}') as unknown;
  assert.equal(canonicalJson(value), '{"__proto__":{"x":1},"b":1}');
});

/** mulberry32: the same cases every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('the fast path writes exactly what the reference serialiser writes (20,000 generated values)', () => {
  const rnd = random(17);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const keyPool = [
    'a',
    'b',
    'B',
    'aa',
    '',
    'é',
    'z',
    '\u{1F600}',
    '\uD800',
    '0',
    '1',
    '10',
    '9',
    '01',
    '-1',
    '$',
    ' ',
    'toJSON',
    '__proto__',
    'constructor',
    'length',
    '4294967295',
    '1e3',
  ];
  const leaf = (): unknown =>
    pick<() => unknown>([
      () => Math.floor(rnd() * 1000) - 500,
      () => rnd() * 1e22,
      () => -0,
      () => 5e-7,
      () => pick(['', 'x', 'a"b\\c', '\n\t\u0001', '\uDC00', 'é\u{1F600}', '</script>']),
      () => rnd() < 0.5,
      () => null,
      () => undefined,
      () => new Date(Math.floor(rnd() * 2e12)),
      () => () => 1,
    ])();
  const value = (depth: number): unknown => {
    if (depth > 3 || rnd() < 0.3) return leaf();
    if (rnd() < 0.4) return Array.from({ length: Math.floor(rnd() * 5) }, () => value(depth + 1));
    const o: Record<string, unknown> = rnd() < 0.1 ? Object.create(null) : {};
    for (let i = Math.floor(rnd() * 6); i > 0; i--) {
      Object.defineProperty(o, pick(keyPool), {
        value: value(depth + 1),
        enumerable: true,
        configurable: true,
        writable: true,
      });
    }
    return o;
  };
  const outcome = (fn: () => string) => {
    try {
      return fn();
    } catch (error) {
      return `throws ${(error as Error).message}`;
    }
  };
  let fast = 0;
  for (let i = 0; i < 20_000; i++) {
    const v = value(0);
    const expected = outcome(() => serialize(v));
    assert.equal(
      outcome(() => canonicalJson(v)),
      expected,
      `case ${i}`,
    );
    if (!expected.startsWith('throws')) fast++;
  }
  assert.ok(fast > 5_000, `${fast} values could be written at all`);
});
