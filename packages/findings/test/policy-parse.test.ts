// SPDX-License-Identifier: Apache-2.0
// parsePolicy's diagnostics, each at its exact line and column, the policy it returns when there is
// no error, canonicalPolicy's bytes, the committed JSON Schema, and the example app's policy.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { canonicalPolicy, MAX_POLICY_BYTES, PolicySchema, parsePolicy } from '../src/policy/index.ts';

const NOW = new Date('2026-12-03T12:00:00Z');
const root = new URL('../../../', import.meta.url);

const HEAD = 'apiVersion: stella.policy/v1\nkind: Policy\nmetadata: { name: test }\n';

/** Each diagnostic as `line:column severity code path`, in the order parsePolicy gives them. */
function diagnostics(text: string, now = NOW): string[] {
  return parsePolicy(text, { now }).diagnostics.map((d) => `${d.line}:${d.column} ${d.severity} ${d.code} ${d.path}`);
}

describe('parsePolicy: a valid policy', () => {
  test('returns the policy as written (no defaults filled in) and no diagnostics', () => {
    const text = `${HEAD}rules:\n  - id: kev\n    when: { kev: true }\n    verdict: fail\n  - id: rest\n    verdict: warn\n`;
    const { policy, diagnostics: found } = parsePolicy(text, { now: NOW });
    assert.deepEqual(found, []);
    assert.deepEqual(policy, {
      apiVersion: 'stella.policy/v1',
      kind: 'Policy',
      metadata: { name: 'test' },
      rules: [
        { id: 'kev', when: { kev: true }, verdict: 'fail' },
        { id: 'rest', verdict: 'warn' },
      ],
    });
    assert.ok(Object.isFrozen(policy) && Object.isFrozen(policy?.rules[0]?.when), 'the policy is frozen');
  });

  test('the example app policy lints clean', () => {
    const text = readFileSync(new URL('examples/node-app/policy.yaml', root), 'utf8');
    const { policy, diagnostics: found } = parsePolicy(text, { now: NOW });
    assert.deepEqual(found, []);
    assert.equal(policy?.metadata.name, 'node-app');
    assert.deepEqual(
      policy?.rules.map((r) => r.id),
      ['known-exploited', 'vendor-not-affected', 'reachable-high', 'likely-exploited', 'unreachable-low', 'triage'],
    );
  });
});

describe('parsePolicy: errors', () => {
  test('YAML syntax errors point at the offending character and stop there', () => {
    assert.deepEqual(diagnostics(`${HEAD}rules: [ { id: a, verdict: pass }\n`), ['5:1 error yaml-syntax ']);
    const duplicate = diagnostics(`${HEAD}kind: Policy\nrules: [{ id: a, verdict: pass }]\n`);
    assert.deepEqual(duplicate, ['4:1 error yaml-syntax ']);
    assert.match(parsePolicy(`${HEAD}kind: Policy\n`, { now: NOW }).diagnostics[0]?.message ?? '', /unique/);
  });

  test('an unknown field is an error at its key, anywhere in the document', () => {
    const text = `${HEAD}rules:\n  - id: a\n    when: { kev: true, severty: { atLeast: high } }\n    verdict: fail\nextra: 1\n`;
    assert.deepEqual(diagnostics(text), [
      '6:24 error unknown-field /rules/0/when/severty',
      '8:1 error unknown-field /extra',
    ]);
    assert.match(
      parsePolicy(text, { now: NOW }).diagnostics[0]?.message ?? '',
      /^unknown field "severty" \(known here: severity, kev, epss, vex, reachability, package, vulnerability, path, fixAvailable\)$/,
    );
  });

  test('wrong types, bad enum values and bad numbers are errors at the value', () => {
    const text = [
      'apiVersion: stella.policy/v2',
      'kind: Policy',
      'metadata: { name: "has space" }',
      'thresholds: { fail: -1, warn: 2.5 }',
      'vex: { default: sure, trust: [{ issuer: x, trust: high }] }',
      'rules:',
      '  - id: a',
      '    when:',
      '      kev: "yes"',
      '      epss: { atLeast: 1.5 }',
      '      reachability: reachable',
      '      severity: { atLeast: hihg }',
      '    verdict: block',
      '',
    ].join('\n');
    assert.deepEqual(diagnostics(text), [
      '1:13 error bad-enum /apiVersion',
      '3:19 error bad-value /metadata/name',
      '4:21 error bad-value /thresholds/fail',
      '4:31 error wrong-type /thresholds/warn',
      '5:17 error bad-enum /vex/default',
      '9:12 error wrong-type /rules/0/when/kev',
      '10:24 error bad-value /rules/0/when/epss/atLeast',
      '11:21 error wrong-type /rules/0/when/reachability',
      '12:28 error bad-enum /rules/0/when/severity/atLeast',
      '13:14 error bad-enum /rules/0/verdict',
    ]);
    const messages = parsePolicy(text, { now: NOW }).diagnostics.map((d) => d.message);
    assert.equal(messages[0], 'expected "stella.policy/v1", found the string "stella.policy/v2"');
    assert.equal(messages[5], 'expected true or false, found the string "yes"');
    assert.equal(messages[9], 'expected "pass" or "warn" or "fail", found the string "block"');
  });

  test('missing required fields are errors at the mapping that lacks them', () => {
    assert.deepEqual(diagnostics(`kind: Policy\nrules:\n  - when: { kev: true }\n`), [
      '1:1 error missing-field ',
      '1:1 error missing-field ',
      '3:5 error missing-field /rules/0',
      '3:5 error missing-field /rules/0',
    ]);
  });
});

describe('parsePolicy: errors beyond the shape', () => {
  test('a glob with a reserved character or a dangling escape is an error', () => {
    const text = `${HEAD}vex: { trust: [{ issuer: "a\\\\", trust: low }] }\nrules:\n  - id: a\n    when: { package: ["pkg:npm/ok*", "pkg:npm/{a,b}"] }\n    verdict: fail\n`;
    assert.deepEqual(diagnostics(text), [
      '4:26 error bad-glob /vex/trust/0/issuer',
      '7:38 error bad-glob /rules/0/when/package/1',
    ]);
  });

  test('duplicate rule and exception ids are errors at the second id, naming the first', () => {
    const text = `${HEAD}rules:\n  - id: a\n    when: { kev: true }\n    verdict: fail\n  - id: a\n    verdict: warn\nexceptions:\n  - { id: E, vulnerability: CVE-1, expires: 2099-01-01, reason: r }\n  - { id: E, vulnerability: CVE-2, expires: 2099-01-01, reason: r }\n`;
    assert.deepEqual(diagnostics(text), [
      '8:9 error duplicate-id /rules/1/id',
      '12:11 error duplicate-id /exceptions/1/id',
    ]);
    assert.equal(
      parsePolicy(text, { now: NOW }).diagnostics[0]?.message,
      'rule id "a" is already used by rules[0] (line 5)',
    );
  });

  test('an invalid date, and an exception without expires, are errors', () => {
    const text = `${HEAD}rules: [{ id: a, verdict: pass }]\nexceptions:\n  - { id: E1, vulnerability: CVE-1, expires: 2027-02-30, reason: r }\n  - id: E2\n    vulnerability: CVE-2\n    reason: r\n`;
    assert.deepEqual(diagnostics(text), [
      '6:46 error invalid-date /exceptions/0/expires',
      '7:5 error exception-no-expiry /exceptions/1',
    ]);
  });

  test('no rules (missing or empty) is an error', () => {
    assert.deepEqual(diagnostics(HEAD), ['1:1 error no-rules ']);
    assert.deepEqual(diagnostics(`${HEAD}rules: []\n`), ['4:8 error no-rules /rules']);
  });

  test('a severity condition needs exactly one of atLeast and in', () => {
    const text = `${HEAD}rules:\n  - id: a\n    when: { severity: { source: all } }\n    verdict: fail\n  - id: b\n    when: { severity: { atLeast: low, in: [unknown] } }\n    verdict: fail\n`;
    assert.deepEqual(diagnostics(text), [
      '6:23 error bad-value /rules/0/when/severity',
      '9:23 error bad-value /rules/1/when/severity',
    ]);
  });

  test('aliases are followed (an error inside points at the alias use) but capped, against nested expansion', () => {
    const reuse = `${HEAD}rules:\n  - { id: a, when: { package: &npm ["pkg:npm/*"] }, verdict: fail }\n  - { id: b, when: { package: *npm, kev: true }, verdict: warn }\n`;
    assert.deepEqual(parsePolicy(reuse, { now: NOW }).policy?.rules[1]?.when?.package, ['pkg:npm/*']);
    const badReuse = `${HEAD}x: &x 1\nrules:\n  - { id: a, when: { kev: *x }, verdict: fail }\n`;
    assert.deepEqual(diagnostics(badReuse), ['4:1 error unknown-field /x', '6:27 error wrong-type /rules/0/when/kev']);
    // Every use re-walks the anchored list: many uses of a long list would cost uses × length.
    const rules = ['rules:', '  - { id: r0, when: { package: &p ["pkg:a", "pkg:b"] }, verdict: pass }'];
    for (let i = 1; i <= 120; i++) rules.push(`  - { id: r${i}, when: { package: *p }, verdict: pass }`);
    assert.deepEqual(diagnostics(`${HEAD}${rules.join('\n')}\n`), ['106:34 error too-large /rules/101/when/package']);
  });

  test('an empty document, a non-mapping document and an oversized one are errors at 1:1', () => {
    assert.deepEqual(diagnostics(''), ['1:1 error wrong-type ']);
    assert.deepEqual(diagnostics('- a\n'), ['1:1 error wrong-type ']);
    assert.deepEqual(diagnostics(`# ${'x'.repeat(MAX_POLICY_BYTES)}\n`), ['1:1 error too-large ']);
  });
});

describe('parsePolicy: exception expiry', () => {
  const policyWith = (expires: string) =>
    `${HEAD}rules: [{ id: a, verdict: pass }]\nexceptions:\n  - id: EXC-1\n    vulnerability: CVE-2022-25883\n    expires: ${expires}\n    reason: r\n`;

  test('an exception applies through the end of its expires day (UTC): expired from the next midnight on', () => {
    const lastMoment = new Date('2026-12-03T23:59:59.999Z');
    assert.deepEqual(diagnostics(policyWith('2026-12-03'), lastMoment), [
      '8:14 warning exception-expiring /exceptions/0/expires',
    ]);
    const midnight = new Date('2026-12-04T00:00:00Z');
    const { policy, diagnostics: found } = parsePolicy(policyWith('2026-12-03'), { now: midnight });
    assert.equal(policy, undefined);
    assert.deepEqual(
      found.map((d) => `${d.line}:${d.column} ${d.severity} ${d.code}`),
      ['8:14 error exception-expired'],
    );
    assert.equal(
      found[0]?.message,
      'exception "EXC-1" expired on 2026-12-03 (it applied through the end of that day, UTC): renew it with a later expires or remove it',
    );
  });

  test('expiring within 14 days is a warning that keeps the policy; later is silent', () => {
    const { policy, diagnostics: found } = parsePolicy(policyWith('2026-12-16'), { now: NOW });
    assert.ok(policy);
    assert.equal(found.length, 1);
    assert.equal(
      found[0]?.message,
      'exception "EXC-1" expires at the end of 2026-12-16 (UTC), in 14 days: renew it or fix the finding',
    );
    assert.deepEqual(diagnostics(policyWith('2026-12-18')), []);
  });
});

describe('parsePolicy: warnings', () => {
  test('rules after one without when (or with an empty when) are unreachable: a warning, the policy is kept', () => {
    const text = `${HEAD}rules:\n  - id: a\n    when: {}\n    verdict: warn\n  - id: b\n    when: { kev: true }\n    verdict: fail\n  - id: c\n    verdict: pass\n`;
    const { policy, diagnostics: found } = parsePolicy(text, { now: NOW });
    assert.ok(policy);
    assert.deepEqual(
      found.map((d) => `${d.line}:${d.column} ${d.severity} ${d.code} ${d.path}`),
      ['8:5 warning unreachable-rule /rules/1', '11:5 warning unreachable-rule /rules/2'],
    );
    assert.equal(
      found[0]?.message,
      'rule "b" can never match: rule "a" (line 5) has no when and decides every finding before it',
    );
  });
});

describe('canonicalPolicy', () => {
  test('is the same bytes whatever the key order or layout of the YAML', () => {
    const a = parsePolicy(
      `${HEAD}thresholds: { fail: 1, warn: 2 }\nrules:\n  - { id: r, when: { kev: true, vex: [fixed] }, verdict: fail }\n`,
      { now: NOW },
    );
    const b = parsePolicy(
      `rules:\n  - verdict: fail\n    when:\n      vex: [fixed]\n      kev: true\n    id: r\nthresholds:\n  warn: 2\n  fail: 1\nmetadata: { name: test }\nkind: Policy\napiVersion: stella.policy/v1\n`,
      { now: NOW },
    );
    assert.ok(a.policy && b.policy);
    assert.equal(canonicalPolicy(a.policy), canonicalPolicy(b.policy));
    assert.equal(
      canonicalPolicy(a.policy),
      '{"apiVersion":"stella.policy/v1","kind":"Policy","metadata":{"name":"test"},"rules":[{"id":"r","verdict":"fail","when":{"kev":true,"vex":["fixed"]}}],"thresholds":{"fail":1,"warn":2}}',
    );
  });

  test('rule order is meaning, so it changes the bytes', () => {
    const one = parsePolicy(
      `${HEAD}rules: [{ id: a, verdict: pass }, { id: b, when: { kev: true }, verdict: fail }]\n`,
      { now: NOW },
    );
    const two = parsePolicy(
      `${HEAD}rules: [{ id: b, when: { kev: true }, verdict: fail }, { id: a, verdict: pass }]\n`,
      { now: NOW },
    );
    assert.ok(one.policy && two.policy);
    assert.notEqual(canonicalPolicy(one.policy), canonicalPolicy(two.policy));
  });
});

test('the committed JSON Schema (packages/findings/schemas/policy.schema.json) is PolicySchema', () => {
  const committed = readFileSync(new URL('packages/findings/schemas/policy.schema.json', root), 'utf8');
  assert.equal(
    committed,
    `${JSON.stringify(PolicySchema, null, 2)}\n`,
    'stale: regenerate it as docs/policy.md (Identity and schema) shows',
  );
});
