// Scanning end to end on the suite's backend, as the acceptance tries it: the GHSA advisories
// for path-to-regexp, semver, yargs-parser and formidable ingested from the real fixtures, then npm's
// own SBOMs of examples/node-app scanned with `stella scan` and over HTTP. Expected, from the
// advisories' own ranges: path-to-regexp 0.1.7 < 0.1.10 (CVE-2024-45296), semver 7.5.1 in
// [7.0.0, 7.5.2) (CVE-2022-25883), yargs-parser 13.1.1 from 0 with no fix (GHSA-ghmj-crg5-xw2j),
// formidable 3.5.2 in [3.1.1-canary.20211030, 3.5.3) (CVE-2025-46653). With the example's callgraph
// and a runtime batch for its subject, Signals' fact gives each finding its reachability.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashSecret } from '@stella/authority';
import { advisoryFixtures, testBackend } from '@stella/testkit';
import { clientToken, runCli, startTestServer, type TestServer } from '../helpers.ts';

const EXAMPLE = new URL('../../../../examples/node-app/', import.meta.url);
const CDX_PATH = new URL('sbom.cdx.json', EXAMPLE).pathname;
const SPDX_PATH = new URL('sbom.spdx.json', EXAMPLE).pathname;
const GHSA = join(advisoryFixtures(), 'ghsa');
// Small enough to refuse a padded SBOM quickly, large enough for the example's SBOMs (under 80 kB).
const MAX_SBOM_BYTES = 256 * 1024;
const ADVISORIES = [
  'advisory-database/advisories/github-reviewed/2024/09/GHSA-9wv6-86v2-598j/GHSA-9wv6-86v2-598j.json',
  'advisory-database/advisories/github-reviewed/2023/06/GHSA-c2qf-rxjj-qqgw/GHSA-c2qf-rxjj-qqgw.json',
  'advisory-database/advisories/unreviewed/2022/02/GHSA-ghmj-crg5-xw2j/GHSA-ghmj-crg5-xw2j.json',
  'via-trivy-db/GHSA-75v8-2h7p-7m2m.json',
];

interface FindingLine {
  purl: string;
  vulnerabilityId: string;
  aliases: string[];
  severity: { source: string; type: string; score: string }[];
  fixedVersions: string[];
  sources: { recordId: string; vendor: string; upstreamId: string; contentHash: string }[];
}

const EXPECTED = [
  ['pkg:npm/formidable@3.5.2', 'CVE-2025-46653', ['GHSA-75v8-2h7p-7m2m'], ['3.5.3']],
  ['pkg:npm/path-to-regexp@0.1.7', 'CVE-2024-45296', ['GHSA-9wv6-86v2-598j'], ['0.1.10']],
  ['pkg:npm/semver@7.5.1', 'CVE-2022-25883', ['GHSA-c2qf-rxjj-qqgw'], ['7.5.2']],
  ['pkg:npm/yargs-parser@13.1.1', 'GHSA-ghmj-crg5-xw2j', [], []],
];

const summary = (findings: FindingLine[]) =>
  findings.map((f) => [f.purl, f.vulnerabilityId, f.aliases, f.fixedVersions]);

describe(`scan on ${testBackend()}`, () => {
  let t: TestServer;
  let token: string;
  let otherToken: string;
  const otherSecret = 'globex-scan-secret-0123456789';
  const scanOver = (body: Buffer, as: { token: string; tenant: string }) =>
    fetch(`${t.base}/findings/scan`, {
      method: 'POST',
      body,
      headers: {
        authorization: `Bearer ${as.token}`,
        'x-stella-tenant': as.tenant,
        'content-type': 'application/json',
      },
    });

  before(async () => {
    const yaml = `auth:\n  clients:\n    - clientId: globex-bot\n      secretHash: "${await hashSecret(otherSecret)}"\n      tenants: [globex]\n      scopes: [advisory:read, sbom:read, sbom:ingest]\n`;
    t = await startTestServer({ STELLA_FINDINGS_MAX_SBOM_BYTES: String(MAX_SBOM_BYTES) }, yaml);
    token = await t.token();
    otherToken = await clientToken(t.base, 'globex-bot', otherSecret);
    for (const rel of ADVISORIES) {
      const r = await runCli(t, ['sources', 'ingest', '--source', 'ghsa', '--input', join(GHSA, rel), '--json']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
  });
  after(() => t.close());

  test('stella scan --json: one line per finding, the three affected packages, each citing its raw advisory', async () => {
    const r = await runCli(t, ['scan', CDX_PATH, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const findings = r.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as FindingLine);
    assert.deepEqual(summary(findings), EXPECTED);
    const semver = findings[2]!;
    assert.deepEqual(
      semver.sources.map((s) => [s.vendor, s.upstreamId]),
      [['ghsa', 'GHSA-c2qf-rxjj-qqgw']],
    );
    assert.match(semver.sources[0]!.contentHash, /^sha256:[0-9a-f]{64}$/);
    // Severity as the source reports it, not re-scored.
    assert.ok(
      semver.severity.some((s) => s.source === 'ghsa' && s.type === 'GHSA' && s.score === 'MODERATE'),
      JSON.stringify(semver.severity),
    );
  });

  test('the SPDX SBOM of the same app gives the same findings; the table names them', async () => {
    const r = await runCli(t, ['scan', SPDX_PATH, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      summary(
        r.stdout
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as FindingLine),
      ),
      EXPECTED,
    );
    const table = await runCli(t, ['scan', CDX_PATH]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^PACKAGE\s+VULNERABILITY\s+FIXED IN\s+REACHABILITY\s+VEX\s+SOURCES$/m);
    assert.match(
      table.stdout,
      /pkg:npm\/path-to-regexp@0\.1\.7\s+CVE-2024-45296\s+0\.1\.10\s+unknown\s+-\s+ghsa:GHSA-9wv6-86v2-598j/,
    );
    assert.match(table.stdout, /4 findings in 62 components/);
  });

  test('a stored SBOM scans the same over GET /sboms/{id}/findings', async () => {
    const ingested = await runCli(t, ['sbom', 'ingest', CDX_PATH, '--json']);
    assert.equal(ingested.code, 0, ingested.stderr);
    const { id } = JSON.parse(ingested.stdout) as { id: string };
    const res = await fetch(`${t.base}/sboms/${encodeURIComponent(id)}/findings`, {
      headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': 'default' },
    });
    assert.equal(res.status, 200, await res.clone().text());
    const stored = (await res.json()) as { findings: { vulnerabilityId: string }[]; components: number };
    assert.equal(stored.components, 62);
    assert.deepEqual(
      stored.findings.map((f) => f.vulnerabilityId),
      EXPECTED.map((e) => e[1]),
    );
  });

  test("reachability: the subject's Signals fact gives each finding its state and witness path", async () => {
    const before = (await runCli(t, ['--json', 'scan', CDX_PATH])).stdout.trim().split('\n');
    for (const line of before)
      assert.deepEqual((JSON.parse(line) as { reachability: unknown }).reachability, {
        state: 'unknown',
        lattice: 'Unknown',
        path: [],
        reason: 'no-fact',
      });
    const post = (path: string, body: unknown) =>
      fetch(`${t.base}${path}`, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': 'default', 'content-type': 'application/json' },
      });
    const graph = await post(
      '/signals/callgraphs',
      JSON.parse(readFileSync(new URL('callgraph.json', EXAMPLE), 'utf8')),
    );
    assert.equal(graph.status, 202, await graph.clone().text());
    const { callgraphId } = (await graph.json()) as { callgraphId: string };
    const subject = { component: 'stella-example-node-app', version: '1.0.0' };
    const observed = { symbolId: 'app.js#main', hitCount: 1, observedAt: '2026-12-01T10:00:00Z' };
    const runtime = await post('/signals/runtime-facts', { callgraphId, subject, events: [observed] });
    assert.equal(runtime.status, 202, await runtime.clone().text());
    const { targets } = JSON.parse(readFileSync(new URL('targets.json', EXAMPLE), 'utf8')) as { targets: unknown[] };
    const recompute = await post('/signals/reachability/recompute', {
      subjectKey: 'stella-example-node-app|1.0.0',
      targets,
      wait: true,
    });
    assert.equal(recompute.status, 200, await recompute.clone().text());
    const r = await runCli(t, ['--json', 'scan', CDX_PATH]);
    assert.equal(r.code, 0, r.stderr);
    const states = r.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as FindingLine & { reachability: { state: string; path: string[] } })
      .map((f) => [f.purl, f.reachability.state, f.reachability.path]);
    assert.deepEqual(states, [
      ['pkg:npm/formidable@3.5.2', 'unreachable', []],
      [
        'pkg:npm/path-to-regexp@0.1.7',
        'reachable',
        [
          'path-to-regexp/index.js#pathtoRegexp',
          'express/lib/router/layer.js#Layer',
          'express/lib/application.js#app.get',
          'app.js#main',
        ],
      ],
      [
        'pkg:npm/semver@7.5.1',
        'reachable',
        [
          'semver/classes/range.js#Range.parseRange',
          'semver/classes/range.js#Range',
          'semver/functions/satisfies.js#satisfies',
          'app.js#main/<anonymous:12>',
        ],
      ],
      [
        'pkg:npm/yargs-parser@13.1.1',
        'reachable',
        ['yargs-parser/index.js#parse', 'yargs-parser/index.js#Parser', 'app.js#main'],
      ],
    ]);
    const table = await runCli(t, ['scan', CDX_PATH]);
    assert.match(table.stdout, /pkg:npm\/formidable@3\.5\.2 +CVE-2025-46653 +3\.5\.3 +unreachable /);
  });

  test('stella scan --policy: verdicts and rules per finding, exit 1 over the fail threshold; simulate prints Markdown', async () => {
    const POLICY = new URL('policy.yaml', EXAMPLE).pathname;
    const r = await runCli(t, ['--json', 'scan', CDX_PATH, '--policy', POLICY]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /ERR_POLICY_THRESHOLD/);
    const verdicts = r.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { vulnerabilityId: string; verdict: { verdict: string; rule: string } })
      .map((f) => [f.vulnerabilityId, f.verdict.verdict, f.verdict.rule]);
    assert.deepEqual(verdicts, [
      ['CVE-2025-46653', 'pass', 'unreachable-low'],
      ['CVE-2024-45296', 'fail', 'reachable-high'],
      ['CVE-2022-25883', 'pass', 'exception:EXC-2026-001'],
      ['GHSA-ghmj-crg5-xw2j', 'warn', 'triage'],
    ]);
    const table = await runCli(t, ['scan', CDX_PATH, '--policy', POLICY]);
    assert.equal(table.code, 1);
    assert.match(table.stdout, /^PACKAGE\s+VULNERABILITY\s+FIXED IN\s+REACHABILITY\s+VEX\s+VERDICT\s+RULE\s+SOURCES$/m);
    assert.match(table.stderr, /policy node-app: 1 fail, 1 warn, 2 pass/);
    const simulate = await runCli(t, ['policy', 'simulate', '--policy', POLICY, '--sbom', CDX_PATH, SPDX_PATH]);
    assert.equal(simulate.code, 1, simulate.stderr);
    assert.match(simulate.stdout, /^## ❌ stella policy failed$/m);
    assert.match(
      simulate.stdout,
      /^\| sbom\.cdx\.json \(stella-example-node-app\\\|1\.0\.0\) \| 1 \| 1 \| 2 \| ❌ \(fail threshold crossed\) \|$/m,
    );
    assert.match(simulate.stdout, /\| pkg:npm\/path-to-regexp@0\.1\.7 \| CVE-2024-45296 \| high \| reachable \|/);
    // With the threshold met (a fail allowed), the same run passes with warnings: exit 0.
    const lenient = join(t.home, 'lenient.yaml');
    writeFileSync(lenient, readFileSync(POLICY, 'utf8').replace('fail: 0 #', 'fail: 1 #'));
    const ok = await runCli(t, ['policy', 'simulate', '--policy', lenient, '--sbom', CDX_PATH]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^## ⚠️ stella policy passed with warnings$/m);
    const bad = join(t.home, 'bad.yaml');
    writeFileSync(
      bad,
      'apiVersion: stella.policy/v1\nkind: Policy\nmetadata: { name: x }\nrules:\n  - id: r\n    verdict: maybe\n',
    );
    const refused = await runCli(t, ['scan', CDX_PATH, '--policy', bad]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /ERR_POLICY_INVALID: .*bad\.yaml is not a valid policy \(1 error\): 6:/);
  });

  test("another tenant's scan sees none of this tenant's advisories", async () => {
    const res = await scanOver(readFileSync(CDX_PATH), { token: otherToken, tenant: 'globex' });
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(((await res.json()) as { findings: unknown[] }).findings, []);
  });

  test('bad input: not an SBOM is 415 ERR_SBOM_UNSUPPORTED (CLI exit 2); a missing file exits 4', async () => {
    const res = await scanOver(Buffer.from('{"hello":"world"}'), { token, tenant: 'default' });
    assert.equal(res.status, 415);
    assert.equal(((await res.json()) as { code: string }).code, 'ERR_SBOM_UNSUPPORTED');
    const notSbom = await runCli(t, ['scan', join(GHSA, ADVISORIES[0]!)]);
    assert.equal(notSbom.code, 2, notSbom.stderr);
    assert.match(notSbom.stderr, /ERR_SBOM_UNSUPPORTED/);
    const missing = await runCli(t, ['scan', '/nonexistent/sbom.json']);
    assert.equal(missing.code, 4, missing.stderr);
  });

  test('bad input: malformed JSON is 400, an SBOM over findings.maxSbomBytes 413, a NUL in a string 400', async () => {
    const as = { token, tenant: 'default' };
    const malformed = await scanOver(Buffer.from('{"bomFormat": "CycloneDX",'), as);
    assert.equal(malformed.status, 400);
    assert.equal(((await malformed.json()) as { code: string }).code, 'ERR_MALFORMED_BODY');
    const padded = Buffer.from(
      JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', metadata: { pad: 'x'.repeat(MAX_SBOM_BYTES) } }),
    );
    const oversize = await scanOver(padded, as);
    assert.equal(oversize.status, 413);
    assert.equal(((await oversize.json()) as { code: string }).code, 'ERR_BODY_TOO_LARGE');
    const nul = await scanOver(
      Buffer.from('{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"name":"a\\u0000b"}]}'),
      as,
    );
    assert.equal(nul.status, 400, await nul.clone().text());
  });
});
