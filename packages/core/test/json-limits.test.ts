import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { checkJsonLimits, DEFAULT_JSON_LIMITS, parseJsonWithLimits, StellaError } from '../src/index.ts';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (error) {
    assert.ok(error instanceof StellaError, `a coded error, not ${String(error)}`);
    return error.code;
  }
};

const small = { maxDepth: 4, maxStringLength: 10, maxKeys: 3 };

describe('checkJsonLimits', () => {
  test('depth counts objects and arrays, not brackets inside strings', () => {
    assert.equal(
      codeOf(() => checkJsonLimits('[[[{"a":1}]]]', small)),
      undefined,
    );
    assert.equal(
      codeOf(() => checkJsonLimits('[[[[[1]]]]]', small)),
      'ERR_LIMIT_JSON_DEPTH',
    );
    assert.equal(
      codeOf(() => checkJsonLimits('{"a":"[[[[[[[[["}', small)),
      undefined,
    );
    assert.equal(
      codeOf(() => checkJsonLimits('{"a\\"[[[[[[":1}', small)),
      undefined,
    );
  });

  test('6,000 levels, the depth that hung PGlite, fail at once with the offset', () => {
    const deep = `{"database_specific":${'{"a":'.repeat(6000)}1${'}'.repeat(6001)}`;
    try {
      checkJsonLimits(deep);
      assert.fail('accepted');
    } catch (error) {
      assert.equal((error as StellaError).code, 'ERR_LIMIT_JSON_DEPTH');
      assert.equal((error as StellaError).details?.limit, DEFAULT_JSON_LIMITS.maxDepth);
    }
  });

  test('members per object, counted per object and not across nested ones', () => {
    assert.equal(
      codeOf(() => checkJsonLimits('{"a":1,"b":{"x":1,"y":2,"z":3},"c":3}', small)),
      undefined,
    );
    assert.equal(
      codeOf(() => checkJsonLimits('{"a":1,"b":2,"c":3,"d":4}', small)),
      'ERR_LIMIT_JSON_KEYS',
    );
    assert.equal(
      codeOf(() => checkJsonLimits('[{"a":"x:y:z:w:v"}]', small)),
      undefined,
      'colons in strings',
    );
  });

  test('string length counts decoded characters, keys included', () => {
    assert.equal(
      codeOf(() => checkJsonLimits('["0123456789"]', small)),
      undefined,
    );
    assert.equal(
      codeOf(() => checkJsonLimits('["\\u0041\\n\\"bcdefgh"]', small)),
      undefined,
      '10 after decoding',
    );
    assert.equal(
      codeOf(() => checkJsonLimits('["0123456789a"]', small)),
      'ERR_LIMIT_STRING_LENGTH',
    );
    assert.equal(
      codeOf(() => checkJsonLimits('{"0123456789a":1}', small)),
      'ERR_LIMIT_STRING_LENGTH',
    );
  });

  test('NUL and unpaired surrogates are refused, escaped or raw; pairs are fine', () => {
    assert.equal(
      codeOf(() => checkJsonLimits('{"symbolId":"a\\u0000b"}')),
      'ERR_INVALID_TEXT',
    );
    assert.equal(
      codeOf(() => checkJsonLimits('["\\ud800"]')),
      'ERR_INVALID_TEXT',
    );
    assert.equal(
      codeOf(() => checkJsonLimits('["\\udc00x"]')),
      'ERR_INVALID_TEXT',
    );
    assert.equal(
      codeOf(() => checkJsonLimits('["\\ud800\\u0041"]')),
      'ERR_INVALID_TEXT',
    );
    assert.equal(
      codeOf(() => checkJsonLimits('["\ud800"]')),
      'ERR_INVALID_TEXT',
    );
    assert.equal(
      codeOf(() => checkJsonLimits('["\\ud83d\\ude00 and 😀"]')),
      undefined,
    );
    assert.equal(
      codeOf(() => checkJsonLimits('["\ud83d\\ude00"]')),
      undefined,
      'raw high, escaped low',
    );
  });

  test('parseJsonWithLimits: malformed text is ERR_MALFORMED_BODY', () => {
    assert.equal(
      codeOf(() => parseJsonWithLimits('{"a":')),
      'ERR_MALFORMED_BODY',
    );
    assert.deepEqual(parseJsonWithLimits('{"__proto__":{"x":1}}'), JSON.parse('{"__proto__":{"x":1}}'));
  });
});

describe('checkJsonLimits, property-based', () => {
  test('any JSON value within the caps is accepted and parses to itself', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const text = JSON.stringify(value);
        assert.deepEqual(parseJsonWithLimits(text), JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });

  test('on any text the answer is accept, or a coded error; never another throw', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.json()), (text) => {
        codeOf(() => parseJsonWithLimits(text, small));
      }),
      { numRuns: 2000 },
    );
  });

  test('the depth found equals the real nesting depth', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.constantFrom('[', '{"k":'), (depth, open) => {
        const close = open === '[' ? ']' : '}';
        const text = `${open.repeat(depth)}0${close.repeat(depth)}`;
        const limits = { ...DEFAULT_JSON_LIMITS, maxDepth: 100 };
        assert.equal(
          codeOf(() => checkJsonLimits(text, limits)),
          depth > 100 ? 'ERR_LIMIT_JSON_DEPTH' : undefined,
        );
      }),
    );
  });
});
