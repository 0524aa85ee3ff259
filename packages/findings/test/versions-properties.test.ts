// SPDX-License-Identifier: Apache-2.0
// Property tests for every scheme: on generated valid versions the order is reflexive, antisymmetric
// and transitive (a sorted list is ordered pairwise), and on arbitrary strings a comparator either
// answers or throws the coded ERR_VERSION_UNPARSEABLE, never anything else.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StellaError } from '@stella/core';
import fc from 'fast-check';
import { supportedEcosystems, versionComparator } from '../src/index.ts';

const num = (max = 20) => fc.nat({ max }).map(String);
const pick = <T>(...values: T[]) => fc.constantFrom(...values);
const opt = (arb: fc.Arbitrary<string>) => fc.option(arb, { nil: '' });
const joined = (parts: fc.Arbitrary<string[]>, sep = '.') => parts.map((p) => p.join(sep));

const semverCore = fc.tuple(num(), num(), num()).map((p) => p.join('.'));
const preId = fc.oneof(num(30), pick('alpha', 'beta', 'rc', 'x-y', 'A', 'a1', '0a'));
const prerelease = opt(joined(fc.array(preId, { minLength: 1, maxLength: 3 })).map((p) => `-${p}`));

const GENERATORS: Record<string, fc.Arbitrary<string>> = {
  npm: fc.tuple(pick('', 'v'), semverCore, prerelease).map((p) => p.join('')),
  'crates.io': fc.tuple(semverCore, prerelease, opt(pick('+b1', '+exp.sha'))).map((p) => p.join('')),
  Go: fc
    .tuple(
      pick('v', ''),
      semverCore,
      fc.oneof(prerelease, pick('-0.20191109021931-daa7c04131f5', '-20200109021931-aaaaaaaaaaaa')),
      opt(pick('+incompatible')),
    )
    .map((p) => p.join('')),
  NuGet: fc
    .tuple(
      fc.array(
        fc.tuple(pick('', '0'), num()).map((p) => p.join('')),
        { minLength: 2, maxLength: 4 },
      ),
      prerelease,
    )
    .map(([parts, pre]) => parts.join('.') + pre),
  Pub: fc
    .tuple(
      fc.tuple(pick('', '0'), num()).map((p) => p.join('')),
      num(),
      num(),
      prerelease,
      opt(pick('+1', '+build.2', '+b')),
    )
    .map(([a, b, c, pre, build]) => `${a}.${b}.${c}${pre}${build}`),
  PyPI: fc
    .tuple(
      opt(pick('1!', '2!')),
      joined(fc.array(num(), { minLength: 1, maxLength: 3 })),
      opt(fc.tuple(pick('a', 'b', 'rc', 'c'), num()).map((p) => p.join(''))),
      opt(num().map((n) => `.post${n}`)),
      opt(num().map((n) => `.dev${n}`)),
      opt(pick('+local', '+1.2', '+abc.5')),
    )
    .map((p) => p.join('')),
  Maven: fc
    .tuple(
      num(),
      fc.array(
        fc.tuple(
          pick('.', '-', ''),
          fc.oneof(
            num(),
            pick(
              'alpha',
              'a',
              'beta',
              'b',
              'm',
              'milestone',
              'rc',
              'cr',
              'snapshot',
              'ga',
              'final',
              'release',
              'sp',
              'abc',
              'x',
              '',
            ),
          ),
        ),
        { maxLength: 5 },
      ),
    )
    .map(([first, rest]) => first + rest.map((p) => p.join('')).join('')),
  RubyGems: fc
    .tuple(
      num(),
      fc.array(fc.oneof(num(), pick('a', 'b', 'pre', 'rc', 'beta', 'Z')), { maxLength: 4 }),
      opt(pick('-1', '-rc.1', '-a')),
    )
    .map(([first, rest, dash]) => [first, ...rest].join('.') + dash),
  Packagist: fc
    .tuple(
      pick('', 'v'),
      joined(fc.array(num(), { minLength: 1, maxLength: 4 })),
      opt(
        fc
          .tuple(
            pick('-', '.', ''),
            pick('alpha', 'a', 'beta', 'b', 'RC', 'rc', 'patch', 'pl', 'p', 'stable'),
            opt(num()),
          )
          .map((p) => p.join('')),
      ),
      opt(pick('-dev')),
    )
    .map((p) => p.join('')),
  Hackage: joined(fc.array(fc.nat({ max: 12 }).map(String), { minLength: 1, maxLength: 4 })),
  CRAN: fc
    .tuple(
      num(),
      fc.array(
        fc.tuple(pick('.', '-'), num()).map((p) => p.join('')),
        { minLength: 1, maxLength: 3 },
      ),
    )
    .map(([a, rest]) => a + rest.join('')),
  Debian: fc
    .tuple(
      opt(num(3).map((n) => `${n}:`)),
      num(),
      fc.stringMatching(/^[0-9a-z.+~]{0,6}$/),
      opt(fc.stringMatching(/^-[0-9a-z.+~]{1,4}$/)),
    )
    .map((p) => p.join('')),
  'Red Hat': fc
    .tuple(
      opt(num(3).map((n) => `${n}:`)),
      fc.stringMatching(/^[0-9a-zA-Z._+~^]{1,8}$/),
      opt(fc.stringMatching(/^-[0-9a-z._~^]{1,5}$/)),
    )
    .map((p) => p.join('')),
  Alpine: fc
    .tuple(
      num(),
      fc.array(
        fc.tuple(pick('.'), pick('0', '01', '1', '2', '10', '007')).map((p) => p.join('')),
        { maxLength: 3 },
      ),
      opt(pick('a', 'b', 'z')),
      fc.array(
        fc
          .tuple(pick('_alpha', '_beta', '_pre', '_rc', '_cvs', '_svn', '_git', '_hg', '_p'), opt(num()))
          .map((p) => p.join('')),
        { maxLength: 2 },
      ),
      opt(pick('~1234abcd', '~ff')),
      opt(num().map((n) => `-r${n}`)),
    )
    .map(
      ([first, dots, letter, suffixes, hash, rev]) => first + dots.join('') + letter + suffixes.join('') + hash + rev,
    ),
};

describe('order properties on generated versions', () => {
  test('every scheme has a generator', () => {
    const schemeOf = (name: string) =>
      supportedEcosystems().find((e) => e.name === versionComparator(name).ecosystem)?.scheme;
    const covered = new Set(Object.keys(GENERATORS).map(schemeOf));
    for (const ecosystem of supportedEcosystems()) assert.ok(covered.has(ecosystem.scheme), ecosystem.scheme);
  });

  for (const [ecosystem, versions] of Object.entries(GENERATORS)) {
    const { compare } = versionComparator(ecosystem);
    test(`${ecosystem}: reflexive, antisymmetric, transitive`, () => {
      fc.assert(
        fc.property(fc.array(versions, { minLength: 2, maxLength: 8 }), (list) => {
          for (const v of list) assert.equal(compare(v, v), 0, `${v} = ${v}`);
          for (const a of list) for (const b of list) assert.equal(compare(a, b), -compare(b, a) || 0, `${a} vs ${b}`);
          const sorted = [...list].sort(compare);
          for (let i = 0; i < sorted.length; i++)
            for (let j = i + 1; j < sorted.length; j++)
              assert.ok(
                compare(sorted[i] ?? '', sorted[j] ?? '') <= 0,
                `sorted ${sorted.join(' ')}: ${sorted[i]} > ${sorted[j]}`,
              );
        }),
        { numRuns: 300 },
      );
    });
  }
});

test('arbitrary strings: an answer or the coded error, for every ecosystem', () => {
  const comparators = supportedEcosystems().map((e) => versionComparator(e.name));
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 20 }), fc.stringMatching(/^[0-9a-zA-Z.+~^_:-]{0,16}$/)), (text) => {
      for (const comparator of comparators) {
        try {
          assert.equal(comparator.compare(text, text), 0);
        } catch (error) {
          assert.ok(
            error instanceof StellaError && error.code === 'ERR_VERSION_UNPARSEABLE',
            `${comparator.ecosystem} ${JSON.stringify(text)}: ${error}`,
          );
        }
      }
    }),
    { numRuns: 1000 },
  );
});
