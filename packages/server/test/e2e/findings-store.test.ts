// Stored findings and policy snapshots end to end on the suite's backend: the example app's
// advisories and SBOM ingested, its findings computed by the recompute job (no policy, then under
// the example policy published as a signed snapshot), verdict changes on the timeline, the API's
// filters, paging and evidence, DSSE envelopes checked with openssl, and another tenant's ids.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashSecret } from '@stella/authority';
import { testBackend } from '@stella/testkit';
import { clientToken, runCli, startTestServer, type TestServer, verifyDsseWithOpenssl } from '../helpers.ts';

const EXAMPLE = new URL('../../../../examples/node-app/', import.meta.url);
const CDX_PATH = new URL('sbom.cdx.json', EXAMPLE).pathname;
const POLICY_PATH = new URL('policy.yaml', EXAMPLE).pathname;
const SUBJECT = 'stella-example-node-app|1.0.0';

interface StoredFinding {
  id: string;
  purl: string;
  vulnerabilityId: string;
  severity: string;
  reachability: string;
  vexStatus: string;
  verdict: string | null;
  rule: string | null;
  snapshotId: string | null;
}

describe(`stored findings and policy snapshots on ${testBackend()}`, () => {
  let t: TestServer;
  let token: string;
  let otherToken: string;
  const otherSecret = 'globex-findings-secret-0123456789';
  const call = (path: string, init: RequestInit & { as?: string } = {}) =>
    fetch(`${t.base}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${init.as ?? token}`,
        'x-stella-tenant': init.as ? 'globex' : 'default',
        ...(init.headers as Record<string, string>),
      },
    });
  const findings = async (query = '') => {
    const res = await call(`/findings${query}`);
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as { items: StoredFinding[]; nextCursor: string | null };
  };
  /** Waits (bounded) until the recompute job has written what `done` expects. */
  const settle = async (done: (items: StoredFinding[]) => boolean) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { items } = await findings(`?subject=${encodeURIComponent(SUBJECT)}`);
      if (done(items)) return items;
      if (Date.now() > deadline) assert.fail(`recompute did not finish: ${JSON.stringify(items)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };

  before(async () => {
    const yaml = `auth:\n  clients:\n    - clientId: globex-bot\n      secretHash: "${await hashSecret(otherSecret)}"\n      tenants: [globex]\n      scopes: [findings:read, policy:read, policy:write]\n`;
    t = await startTestServer({}, yaml);
    token = await t.token();
    otherToken = await clientToken(t.base, 'globex-bot', otherSecret);
    const r = await runCli(t, [
      'sources',
      'ingest',
      '--source',
      'ghsa',
      '--input',
      join(EXAMPLE.pathname, 'advisories'),
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  after(() => t.close());

  test('an SBOM stored is recomputed by itself: four findings, severity as GHSA reports it, no verdict without a policy', async () => {
    const ingest = await runCli(t, ['sbom', 'ingest', CDX_PATH]);
    assert.equal(ingest.code, 0, ingest.stderr);
    const items = await settle((list) => list.length === 4);
    assert.deepEqual(items.map((f) => [f.purl, f.vulnerabilityId, f.severity, f.reachability, f.verdict]).sort(), [
      ['pkg:npm/formidable@3.5.2', 'CVE-2025-46653', 'low', 'unknown', null],
      ['pkg:npm/path-to-regexp@0.1.7', 'CVE-2024-45296', 'high', 'unknown', null],
      ['pkg:npm/semver@7.5.1', 'CVE-2022-25883', 'medium', 'unknown', null],
      ['pkg:npm/yargs-parser@13.1.1', 'GHSA-ghmj-crg5-xw2j', 'medium', 'unknown', null],
    ]);
  });

  test('publish the example policy as a signed snapshot and activate it: verdicts, rules, policy.verdict events', async () => {
    const publish = await runCli(t, ['--json', 'policy', 'publish', POLICY_PATH, '--activate']);
    assert.equal(publish.code, 0, publish.stderr);
    const snapshot = JSON.parse(publish.stdout) as {
      id: string;
      envelope: { payload: string; signatures: { sig: string }[] };
    };
    assert.match(snapshot.id, /^sha256:[0-9a-f]{64}$/);
    const items = await settle((list) => list.every((f) => f.verdict !== null && f.snapshotId === snapshot.id));
    assert.deepEqual(items.map((f) => [f.vulnerabilityId, f.verdict, f.rule]).sort(), [
      ['CVE-2022-25883', 'pass', 'exception:EXC-2026-001'],
      ['CVE-2024-45296', 'fail', 'reachable-high'],
      ['CVE-2025-46653', 'warn', 'triage'],
      ['GHSA-ghmj-crg5-xw2j', 'warn', 'triage'],
    ]);
    const events = await call('/api/v1/timeline/events?kind=policy.verdict&limit=100');
    const verdicts = (
      (await events.json()) as {
        items: { details: { vulnerabilityId: string; verdict: string; previous: string | null; snapshotId: string } }[];
      }
    ).items;
    assert.deepEqual(
      verdicts
        .map((e) => [
          e.details.vulnerabilityId,
          e.details.verdict,
          e.details.previous,
          e.details.snapshotId === snapshot.id,
        ])
        .sort(),
      [
        ['CVE-2022-25883', 'pass', null, true],
        ['CVE-2024-45296', 'fail', null, true],
        ['CVE-2025-46653', 'warn', null, true],
        ['GHSA-ghmj-crg5-xw2j', 'warn', null, true],
      ],
    );
    // A recompute with nothing new writes nothing and records no change.
    const again0 = await call('/findings/recompute', {
      method: 'POST',
      body: JSON.stringify({ wait: true }),
      headers: { 'content-type': 'application/json' },
    });
    assert.deepEqual(
      ((await again0.json()) as { results: { findings: number; written: number; changes: number }[] }).results.map(
        (r) => [r.findings, r.written, r.changes],
      ),
      [[4, 0, 0]],
    );
    // The same policy again, laid out differently, is the same snapshot: 200, nothing written.
    const again = await call('/policy/snapshots', {
      method: 'POST',
      body: `# reformatted\n${readFileSync(POLICY_PATH, 'utf8')}`,
      headers: { 'content-type': 'application/yaml' },
    });
    assert.equal(again.status, 200);
    assert.equal(((await again.json()) as { id: string }).id, snapshot.id);
  });

  test("the snapshot's DSSE envelope verifies with openssl over PAE(payloadType, canonical policy)", async () => {
    const active = (await (await call('/policy/active')).json()) as { snapshot: { id: string } };
    const detail = (await (await call(`/policy/snapshots/${active.snapshot.id}`)).json()) as {
      policy: unknown;
      envelope: { payloadType: string; payload: string; signatures: { keyid: string; sig: string }[] };
    };
    const keys = (await (await call('/policy/keys')).json()) as { keys: { keyid: string; publicKeyPem: string }[] };
    const key = keys.keys.find((k) => k.keyid === detail.envelope.signatures[0]!.keyid);
    assert.ok(key, 'the signing key is listed');
    const payload = Buffer.from(detail.envelope.payload, 'base64');
    assert.deepEqual(JSON.parse(payload.toString('utf8')), detail.policy);
    verifyDsseWithOpenssl(detail.envelope, key.publicKeyPem);
  });

  test('GET /findings filters and pages; /findings/{id} carries the evidence and the decision', async () => {
    const failed = await findings('?verdict=fail');
    assert.deepEqual(
      failed.items.map((f) => f.vulnerabilityId),
      ['CVE-2024-45296'],
    );
    assert.deepEqual(
      (await findings('?severity=low')).items.map((f) => f.vulnerabilityId),
      ['CVE-2025-46653'],
    );
    assert.equal((await findings('?reachability=reachable')).items.length, 0);
    const seen: string[] = [];
    let cursor = '';
    do {
      const page = await findings(`?limit=1${cursor}`);
      seen.push(...page.items.map((f) => f.id));
      cursor = page.nextCursor ? `&cursor=${page.nextCursor}` : '';
    } while (cursor);
    assert.equal(seen.length, 4);
    assert.deepEqual([...seen].sort(), seen, 'pages are in id order');
    const one = (await (await call(`/findings/${failed.items[0]!.id}`)).json()) as {
      sources: { recordId: string; contentHash: string }[];
      reachability: { state: string; reason: string };
      vex: unknown[];
      policy: { verdict: string; rule: string; severity: string };
    };
    assert.match(one.sources[0]!.contentHash, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual([one.reachability.state, one.reachability.reason], ['unknown', 'no-fact']);
    assert.equal(one.policy.verdict, 'fail');
  });

  test("bad input and other tenants: unknown ids 404 with codes, another tenant sees nothing of this one's", async () => {
    const missing = await call(`/findings/finding:${'0'.repeat(64)}`);
    assert.equal(missing.status, 404);
    const badSnapshot = await call(`/policy/snapshots/sha256:${'0'.repeat(64)}`);
    assert.equal(badSnapshot.status, 404);
    assert.equal(((await badSnapshot.json()) as { code: string }).code, 'ERR_POLICY_NOT_FOUND');
    const activateMissing = await call('/policy/active', {
      method: 'PUT',
      body: JSON.stringify({ snapshotId: `sha256:${'1'.repeat(64)}` }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(activateMissing.status, 404);
    const invalid = await call('/policy/snapshots', {
      method: 'POST',
      body: 'apiVersion: stella.policy/v1\nkind: Policy\nmetadata: { name: x }\nrules: []\nsurprise: 1\n',
      headers: { 'content-type': 'application/yaml' },
    });
    assert.equal(invalid.status, 422);
    const problem = (await invalid.json()) as { code: string; diagnostics: { line: number }[] };
    assert.equal(problem.code, 'ERR_POLICY_INVALID');
    assert.ok(
      problem.diagnostics.some((d) => d.line === 5),
      JSON.stringify(problem),
    );
    const tooLarge = await call('/policy/snapshots', {
      method: 'POST',
      body: `# ${'x'.repeat(1024 * 1024)}\n`,
      headers: { 'content-type': 'application/yaml' },
    });
    assert.equal(tooLarge.status, 413);
    const wrongType = await call('/policy/snapshots', {
      method: 'POST',
      body: 'x',
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(wrongType.status, 415);
    const badCursor = await call('/findings?cursor=not-a-cursor');
    assert.equal(badCursor.status, 400);
    assert.equal(((await badCursor.json()) as { code: string }).code, 'ERR_VALIDATION');
    const badFilter = await call('/findings?verdict=maybe');
    assert.equal(badFilter.status, 400);
    const extra = await call('/findings/recompute', {
      method: 'POST',
      body: JSON.stringify({ everything: true }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(extra.status, 400);
    assert.equal((await call('/findings/not-a-finding-id')).status, 404);
    const mine = (await findings()).items[0]!;
    assert.equal((await call(`/findings/${mine.id}`, { as: otherToken })).status, 404);
    assert.deepEqual(((await (await call('/findings', { as: otherToken })).json()) as { items: unknown[] }).items, []);
    const active = (await (await call('/policy/active')).json()) as { snapshot: { id: string } };
    assert.equal((await call(`/policy/snapshots/${active.snapshot.id}`, { as: otherToken })).status, 404);
    assert.equal((await call('/policy/active', { as: otherToken })).status, 404);
  });

  test("a VEX statement changes a verdict: the app team's not_affected passes path-to-regexp; a bot's affected is kept, untrusted", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stella-vex-'));
    try {
      // A conflicting statement from an issuer the policy does not trust ("*bot*": untrusted).
      writeFileSync(
        join(dir, 'bot.openvex.json'),
        JSON.stringify({
          '@context': 'https://openvex.dev/ns/v0.2.0',
          '@id': 'https://example.com/bot/vex/1',
          author: 'triage-bot',
          timestamp: '2026-12-02T00:00:00Z',
          version: 1,
          statements: [
            {
              vulnerability: { name: 'CVE-2024-45296' },
              products: [{ '@id': 'pkg:npm/path-to-regexp@0.1.7' }],
              status: 'affected',
              action_statement: 'Upgrade path-to-regexp to 0.1.10.',
            },
          ],
        }),
      );
      for (const input of [join(EXAMPLE.pathname, 'vex'), dir]) {
        const r = await runCli(t, ['sources', 'ingest', '--source', 'openvex', '--input', input]);
        assert.equal(r.code, 0, r.stdout + r.stderr);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // The raw VEX written queues the tenant's recompute by itself (aoc.raw.ingested.v1).
    const items = await settle((list) =>
      list.some((f) => f.vulnerabilityId === 'CVE-2024-45296' && f.verdict === 'pass'),
    );
    const pathToRegexp = items.find((f) => f.vulnerabilityId === 'CVE-2024-45296')!;
    assert.deepEqual(
      [pathToRegexp.verdict, pathToRegexp.rule, pathToRegexp.vexStatus],
      ['pass', 'vendor-not-affected', 'not_affected'],
    );
    const detail = (await (await call(`/findings/${pathToRegexp.id}`)).json()) as {
      vex: { issuer: string; status: string; product: string; recordId: string }[];
    };
    assert.deepEqual(detail.vex.map((v) => [v.issuer, v.status, v.product]).sort(), [
      ['stella-example security team', 'not_affected', 'pkg:npm/path-to-regexp@0.1.7'],
      ['triage-bot', 'affected', 'pkg:npm/path-to-regexp@0.1.7'],
    ]);
    const events = await call('/api/v1/timeline/events?kind=policy.verdict&limit=100');
    const changes = (
      (await events.json()) as {
        items: { details: { findingId: string; verdict: string; previous: string | null; rule: string } }[];
      }
    ).items
      .filter((e) => e.details.findingId === pathToRegexp.id)
      .map((e) => [e.details.previous, e.details.verdict, e.details.rule]);
    assert.deepEqual(changes, [
      [null, 'fail', 'reachable-high'],
      ['fail', 'pass', 'vendor-not-affected'],
    ]);
  });
});
