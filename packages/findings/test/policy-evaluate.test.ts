// SPDX-License-Identifier: Apache-2.0
// evaluateFinding under small policies: each condition, first-match order, exceptions (alias match,
// expiry boundary, expired ones reported), VEX trust resolution, summarize's thresholds, the PR
// comment's exact Markdown, and a property: no finding makes evaluation throw.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { EvidenceFinding, VexStatement } from '../src/evidence/model.ts';
import {
  evaluateFinding,
  markdownSummary,
  NO_RULE,
  type Policy,
  type PolicyDecision,
  parsePolicy,
  summarize,
} from '../src/policy/index.ts';

const AT = new Date('2026-12-03T12:00:00Z');
const HEAD = 'apiVersion: stella.policy/v1\nkind: Policy\nmetadata: { name: test }\n';
const V3_CRITICAL = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';
const V3_MEDIUM = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L';

function policyOf(yaml: string, now = AT): Policy {
  const { policy, diagnostics } = parsePolicy(`${HEAD}${yaml}`, { now });
  assert.ok(policy, `policy does not parse: ${JSON.stringify(diagnostics)}`);
  return policy;
}

type Source = EvidenceFinding['sources'][number];

function source(overrides: Partial<Source> = {}): Source {
  return {
    recordId: 'advisory_raw:ghsa:GHSA-1:1',
    vendor: 'ghsa',
    upstreamId: 'GHSA-1',
    contentHash: 'sha256:00',
    severity: [{ type: 'CVSS_V3', score: V3_MEDIUM }],
    range: { type: 'SEMVER', introduced: '0', fixed: '2.0.0' } as unknown as Source['range'],
    ...overrides,
  };
}

function statement(issuer: string, status: VexStatement['status']): VexStatement {
  return {
    recordId: `vex_raw:${issuer}:1:1`,
    vendor: issuer,
    upstreamId: '1',
    contentHash: 'sha256:00',
    format: 'OPENVEX',
    issuer,
    vulnerabilityId: 'CVE-2024-1',
    status,
    product: 'pkg:npm/lib@1.0.0',
    pointer: '/statements/0',
  };
}

function finding(overrides: Partial<EvidenceFinding> = {}): EvidenceFinding {
  return {
    component: { ref: 'lib', purl: 'pkg:npm/lib@1.0.0', name: 'lib', version: '1.0.0', ecosystem: 'npm' },
    vulnerabilityId: 'CVE-2024-1',
    aliases: ['GHSA-aaaa-bbbb-cccc'],
    fixedVersions: ['2.0.0'],
    sources: [source()],
    vex: [],
    reachability: { state: 'unknown', lattice: 'Unknown', path: [], reason: 'no-fact' },
    ...overrides,
  };
}

const verdictOf = (policy: Policy, f: EvidenceFinding) => {
  const d = evaluateFinding(policy, f, AT);
  return `${d.verdict} ${d.rule}`;
};

describe('conditions', () => {
  test('kev, epss, fixAvailable', () => {
    const policy = policyOf(
      'rules:\n  - { id: kev, when: { kev: true }, verdict: fail }\n  - { id: epss, when: { epss: { atLeast: 0.5 } }, verdict: fail }\n  - { id: nofix, when: { fixAvailable: false }, verdict: warn }\n  - { id: rest, verdict: pass }\n',
    );
    assert.equal(verdictOf(policy, finding({ sources: [source(), source({ kev: {} })] })), 'fail kev');
    assert.equal(verdictOf(policy, finding({ sources: [source({ epss: { score: 0.5 } })] })), 'fail epss');
    assert.equal(verdictOf(policy, finding({ sources: [source({ epss: { score: 0.49 } })] })), 'pass rest');
    assert.equal(verdictOf(policy, finding({ fixedVersions: [] })), 'warn nofix');
    const d = evaluateFinding(
      policy,
      finding({
        sources: [source({ epss: { score: 0.2 } }), source({ epss: { score: 0.7 }, kev: { dateAdded: '2024-01-01' } })],
      }),
      AT,
    );
    assert.equal(d.kev, true);
    assert.equal(d.epss, 0.7);
    assert.equal(
      'epss' in evaluateFinding(policy, finding(), AT),
      false,
      'no source gives EPSS: no epss in the decision',
    );
  });

  test('severity: atLeast, in (with unknown) and per source', () => {
    const policy = policyOf(
      [
        'rules:',
        '  - { id: all-high, when: { severity: { atLeast: high, source: all } }, verdict: fail }',
        '  - { id: nvd-critical, when: { severity: { atLeast: critical, source: nvd } }, verdict: warn }',
        '  - { id: unknown, when: { severity: { in: [unknown] } }, verdict: warn }',
        '  - { id: any-medium, when: { severity: { atLeast: medium } }, verdict: pass }',
        '',
      ].join('\n'),
    );
    const critical = source({ vendor: 'nvd', severity: [{ type: 'CVSS_V3', score: V3_CRITICAL }] });
    const high = source({ severity: [{ type: 'GHSA', score: 'HIGH' }] });
    assert.equal(verdictOf(policy, finding({ sources: [critical, high] })), 'fail all-high');
    assert.equal(verdictOf(policy, finding({ sources: [critical, source()] })), 'warn nvd-critical');
    assert.equal(verdictOf(policy, finding({ sources: [source({ severity: [] })] })), 'warn unknown');
    assert.equal(verdictOf(policy, finding()), 'pass any-medium');
    assert.equal(evaluateFinding(policy, finding({ sources: [critical, source()] }), AT).severity, 'critical');
    assert.equal(
      verdictOf(policy, finding({ sources: [source({ severity: [{ type: 'GHSA', score: 'LOW' }] })] })),
      `warn ${NO_RULE}`,
    );
  });
});

describe('conditions over the component and its reachability; rule order', () => {
  test('reachability, package, vulnerability (aliases, any case) and witness path globs', () => {
    const policy = policyOf(
      [
        'rules:',
        '  - { id: path, when: { path: ["src/admin/*"] }, verdict: fail }',
        '  - { id: reach, when: { reachability: [reachable], package: ["pkg:npm/lib@1.*"] }, verdict: fail }',
        '  - { id: ghsa, when: { vulnerability: ["ghsa-aaaa-*"] }, verdict: warn }',
        '  - { id: rest, verdict: pass }',
        '',
      ].join('\n'),
    );
    const reachable = (path: string[]) => ({ state: 'reachable' as const, lattice: 'StaticallyReachable', path });
    assert.equal(
      verdictOf(policy, finding({ reachability: reachable(['lib.parse', 'src/admin/users.ts:main']) })),
      'fail path',
    );
    assert.equal(verdictOf(policy, finding({ reachability: reachable(['lib.parse', 'src/index.ts']) })), 'fail reach');
    const other = finding({
      reachability: reachable([]),
      component: { ...finding().component, purl: 'pkg:npm/lib@2.0.0' },
    });
    assert.equal(verdictOf(policy, other), 'warn ghsa');
    assert.equal(verdictOf(policy, finding({ aliases: [] })), 'pass rest');
  });

  test('the first matching rule decides, in order; an empty when matches everything', () => {
    const policy = policyOf(
      'rules:\n  - { id: a, when: { kev: false }, verdict: warn }\n  - { id: b, when: { kev: false }, verdict: fail }\n  - { id: c, when: {}, verdict: pass }\n',
    );
    assert.equal(verdictOf(policy, finding()), 'warn a');
    assert.equal(verdictOf(policy, finding({ sources: [source({ kev: {} })] })), 'pass c');
  });

  test('an invalid evaluation time is refused, not compared (it would keep every exception alive)', () => {
    const policy = policyOf('rules: [{ id: a, verdict: pass }]\n');
    assert.throws(() => evaluateFinding(policy, finding(), new Date('nope')), RangeError);
    assert.throws(
      () => parsePolicy(`${HEAD}rules: [{ id: a, verdict: pass }]\n`, { now: new Date(Number.NaN) }),
      RangeError,
    );
  });

  test('no rule matching gives warn with rule (none)', () => {
    const policy = policyOf('rules:\n  - { id: a, when: { kev: true }, verdict: fail }\n');
    assert.deepEqual(evaluateFinding(policy, finding(), AT), {
      verdict: 'warn',
      rule: '(none)',
      severity: 'medium',
      vexStatus: 'none',
      reachability: 'unknown',
      kev: false,
    });
  });
});

describe('VEX trust', () => {
  const policy = policyOf(
    [
      'vex:',
      '  trust:',
      '    - { issuer: "GitHub, Inc.", trust: high }',
      '    - { issuer: "Red Hat*", trust: medium }',
      '    - { issuer: "*bot*", trust: untrusted }',
      '  default: low',
      'rules:',
      '  - { id: vex, when: { vex: [not_affected, fixed] }, verdict: pass }',
      '  - { id: conflict, when: { vex: [conflict] }, verdict: warn }',
      '  - { id: rest, verdict: fail }',
      '',
    ].join('\n'),
  );
  const status = (...statements: VexStatement[]) => evaluateFinding(policy, finding({ vex: statements }), AT).vexStatus;

  test('the statements of the highest trust present decide; lower ones are outvoted', () => {
    assert.equal(
      status(statement('GitHub, Inc.', 'not_affected'), statement('Red Hat, Inc.', 'affected')),
      'not_affected',
    );
    assert.equal(status(statement('Red Hat Product Security', 'fixed'), statement('someone', 'affected')), 'fixed');
    assert.equal(status(statement('someone', 'under_investigation')), 'under_investigation');
    assert.equal(verdictOf(policy, finding({ vex: [statement('GitHub, Inc.', 'not_affected')] })), 'pass vex');
  });

  test('disagreement at the highest trust is conflict; agreement is not', () => {
    assert.equal(status(statement('GitHub, Inc.', 'not_affected'), statement('GitHub, Inc.', 'affected')), 'conflict');
    assert.equal(status(statement('GitHub, Inc.', 'fixed'), statement('GitHub, Inc.', 'fixed')), 'fixed');
    assert.equal(
      verdictOf(policy, finding({ vex: [statement('x', 'fixed'), statement('y', 'affected')] })),
      'warn conflict',
    );
  });

  test('untrusted issuers are ignored entirely; none left is none', () => {
    assert.equal(status(statement('renovate-bot', 'not_affected')), 'none');
    assert.equal(status(statement('renovate-bot', 'not_affected'), statement('someone', 'affected')), 'affected');
    assert.equal(status(), 'none');
  });

  test('without a vex block every issuer has low trust', () => {
    const plain = policyOf('rules:\n  - { id: a, when: { vex: [affected] }, verdict: fail }\n');
    assert.equal(
      evaluateFinding(plain, finding({ vex: [statement('any-bot', 'affected')] }), AT).vexStatus,
      'affected',
    );
  });
});

describe('exceptions', () => {
  const policy = policyOf(
    [
      'rules: [{ id: all, verdict: fail }]',
      'exceptions:',
      '  - { id: OLD, vulnerability: GHSA-AAAA-BBBB-CCCC, expires: 2026-12-10, reason: r }',
      '  - { id: NEW, vulnerability: cve-2024-1, package: "pkg:npm/lib@1.*", verdict: warn, expires: 2027-01-31, reason: r }',
      '  - { id: OTHER, vulnerability: CVE-2024-1, package: "pkg:npm/other*", expires: 2027-01-31, reason: r }',
      '',
    ].join('\n'),
  );

  test('checked before rules; the first unexpired one naming the finding (by id or alias, any case) decides', () => {
    assert.deepEqual(evaluateFinding(policy, finding(), AT), {
      verdict: 'pass',
      rule: 'exception:OLD',
      exception: 'OLD',
      severity: 'medium',
      vexStatus: 'none',
      reachability: 'unknown',
      kev: false,
    });
  });

  test('an exception applies through the end of its expires day; after it, it is reported as expired', () => {
    const last = evaluateFinding(policy, finding(), new Date('2026-12-10T23:59:59.999Z'));
    assert.equal(last.rule, 'exception:OLD');
    assert.equal(last.expiredExceptions, undefined);
    const next = evaluateFinding(policy, finding(), new Date('2026-12-11T00:00:00Z'));
    assert.equal(next.rule, 'exception:NEW');
    assert.equal(next.verdict, 'warn');
    assert.deepEqual(next.expiredExceptions, ['OLD']);
    const later = evaluateFinding(policy, finding(), new Date('2027-02-01T00:00:00Z'));
    assert.equal(`${later.verdict} ${later.rule}`, 'fail all');
    assert.deepEqual(later.expiredExceptions, ['OLD', 'NEW'], 'only the exceptions that name the finding');
  });

  test('the package glob must match the purl', () => {
    const f = finding({ aliases: [], component: { ...finding().component, purl: 'pkg:npm/lib@3.0.0' } });
    assert.equal(verdictOf(policy, f), 'fail all');
  });
});

describe('summarize', () => {
  const decisions = (fail: number, warn: number, pass: number) =>
    [...Array(fail).fill('fail'), ...Array(warn).fill('warn'), ...Array(pass).fill('pass')].map((verdict) => ({
      verdict,
    }));

  test('fail defaults to 0 allowed; warn has no default limit', () => {
    const policy = policyOf('rules: [{ id: a, verdict: pass }]\n');
    assert.deepEqual(summarize(decisions(0, 50, 1), policy), {
      counts: { pass: 1, warn: 50, fail: 0 },
      thresholdCrossed: false,
      crossed: [],
    });
    assert.deepEqual(summarize(decisions(1, 0, 0), policy).crossed, ['fail']);
  });

  test('a threshold is crossed when the count exceeds it', () => {
    const policy = policyOf('thresholds: { fail: 1, warn: 2 }\nrules: [{ id: a, verdict: pass }]\n');
    assert.deepEqual(summarize(decisions(1, 2, 0), policy), {
      counts: { pass: 0, warn: 2, fail: 1 },
      thresholdCrossed: false,
      crossed: [],
    });
    assert.deepEqual(summarize(decisions(2, 3, 0), policy), {
      counts: { pass: 0, warn: 3, fail: 2 },
      thresholdCrossed: true,
      crossed: ['fail', 'warn'],
    });
    assert.deepEqual(summarize(decisions(0, 3, 0), policy).crossed, ['warn']);
  });
});

describe('markdownSummary', () => {
  test('the exact comment for two subjects, worst first, cells escaped', () => {
    const policy = policyOf(
      'thresholds: { fail: 0, warn: 5 }\nrules:\n  - { id: kev, when: { kev: true }, verdict: fail }\n  - { id: low, when: { severity: { in: [low] } }, verdict: pass }\n  - { id: triage, verdict: warn }\n',
    );
    const withDecision = (f: EvidenceFinding) => ({ ...f, decision: evaluateFinding(policy, f, AT) });
    const piped = finding({
      component: { ...finding().component, purl: 'pkg:npm/a%7Cb@1.0.0' },
      vulnerabilityId: 'GHSA-x|y',
      fixedVersions: [],
    });
    const text = markdownSummary({
      policy,
      policyDigest: 'sha256:abc',
      subjects: [
        {
          name: 'api <prod>',
          findings: [
            withDecision(finding()),
            withDecision(
              finding({ sources: [source({ kev: {}, severity: [{ type: 'CVSS_V3', score: V3_CRITICAL }] })] }),
            ),
            withDecision(finding({ sources: [source({ severity: [{ type: 'GHSA', score: 'LOW' }] })] })),
          ],
        },
        { name: 'worker', findings: [withDecision(piped)] },
      ],
    });
    assert.equal(
      text,
      [
        '## ❌ stella policy failed',
        '',
        'Policy `test` (`sha256:abc`), thresholds: fail ≤ 0, warn ≤ 5.',
        '',
        '| subject | fail | warn | pass | result |',
        '|---|---:|---:|---:|---|',
        '| api &lt;prod&gt; | 1 | 1 | 1 | ❌ (fail threshold crossed) |',
        '| worker | 0 | 1 | 0 | ⚠️ |',
        '',
        '### Findings that fail or warn',
        '',
        '| subject | package | vulnerability | severity | reachability | VEX | verdict | rule | fixed in |',
        '|---|---|---|---|---|---|---|---|---|',
        '| api &lt;prod&gt; | pkg:npm/lib@1.0.0 | CVE-2024-1 | critical | unknown | none | fail | kev | 2.0.0 |',
        '| worker | pkg:npm/a%7Cb@1.0.0 | GHSA-x\\|y | medium | unknown | none | warn | triage | — |',
        '| api &lt;prod&gt; | pkg:npm/lib@1.0.0 | CVE-2024-1 | medium | unknown | none | warn | triage | 2.0.0 |',
        '',
      ].join('\n'),
    );
  });

  test('no fail or warn findings: a passing heading and no findings table', () => {
    const policy = policyOf('rules: [{ id: ok, verdict: pass }]\n');
    const text = markdownSummary({
      policy,
      policyDigest: 'sha256:abc',
      subjects: [{ name: 'app', findings: [{ ...finding(), decision: evaluateFinding(policy, finding(), AT) }] }],
    });
    assert.equal(
      text,
      '## ✅ stella policy passed\n\nPolicy `test` (`sha256:abc`), thresholds: fail ≤ 0, warn ≤ ∞.\n\n| subject | fail | warn | pass | result |\n|---|---:|---:|---:|---|\n| app | 0 | 0 | 1 | ✅ |\n',
    );
  });
});

describe('property', () => {
  const policy = policyOf(
    [
      'vex: { trust: [{ issuer: "a*", trust: high }, { issuer: "*z", trust: untrusted }] }',
      'rules:',
      '  - { id: k, when: { kev: true, epss: { atLeast: 0.1 } }, verdict: fail }',
      '  - { id: s, when: { severity: { atLeast: high, source: all }, reachability: [reachable] }, verdict: fail }',
      '  - { id: p, when: { package: ["pkg:*/*a*?"], path: ["*x*"], vulnerability: ["CVE-*"] }, verdict: warn }',
      '  - { id: v, when: { vex: [conflict, none], fixAvailable: true, severity: { in: [unknown, none] } }, verdict: pass }',
      'exceptions: [{ id: E, vulnerability: CVE-1, package: "*", expires: 2027-01-01, reason: r }]',
      '',
    ].join('\n'),
  );
  const text = fc.string({ maxLength: 40 });
  const severityEntry = fc.record({
    type: fc.constantFrom('CVSS_V2', 'CVSS_V3', 'CVSS_V4', 'GHSA', 'VENDOR', 'OTHER'),
    score: fc.oneof(text, fc.constantFrom(V3_CRITICAL, V3_MEDIUM, 'HIGH', 'Important', 'AV:N/AC:L/Au:N/C:C/I:C/A:C')),
  });
  const arbitrarySource = fc.record({
    vendor: text,
    severity: fc.array(severityEntry, { maxLength: 4 }),
    kev: fc.option(fc.record({ dateAdded: text }), { nil: undefined }),
    epss: fc.option(fc.record({ score: fc.double({ min: 0, max: 1, noNaN: true }) }), { nil: undefined }),
  });
  const arbitraryStatement = fc.record({
    issuer: text,
    status: fc.constantFrom('not_affected', 'affected', 'fixed', 'under_investigation' as const),
  });

  test('evaluateFinding never throws, is deterministic, and its verdict is one of the three', () => {
    fc.assert(
      fc.property(
        fc.record({
          purl: text,
          id: fc.oneof(text, fc.constant('CVE-1')),
          aliases: fc.array(text, { maxLength: 3 }),
          fixed: fc.array(text, { maxLength: 2 }),
          sources: fc.array(arbitrarySource, { maxLength: 4 }),
          vex: fc.array(arbitraryStatement, { maxLength: 4 }),
          state: fc.constantFrom('reachable', 'unreachable', 'unknown' as const),
          path: fc.array(text, { maxLength: 4 }),
          at: fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }),
        }),
        (g) => {
          const f = finding({
            component: { ...finding().component, purl: g.purl },
            vulnerabilityId: g.id,
            aliases: g.aliases,
            fixedVersions: g.fixed,
            sources: g.sources.map((s) => source(s as Partial<Source>)),
            vex: g.vex.map((v) => statement(v.issuer, v.status as VexStatement['status'])),
            reachability: { state: g.state as 'unknown', lattice: 'x', path: g.path },
          });
          const first: PolicyDecision = evaluateFinding(policy, f, g.at);
          assert.ok(['pass', 'warn', 'fail'].includes(first.verdict));
          assert.deepEqual(evaluateFinding(policy, f, g.at), first);
        },
      ),
      { numRuns: 300 },
    );
  });
});
