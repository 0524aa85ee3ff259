// The console's Reachability and Findings pages in Chromium against a real server: the example app's
// advisories, an untrusted bot's VEX, the example policy, its SBOM, call graph and a runtime batch put
// in through the API and CLI, then a viewer opens the subject's witness path (each node, the runtime
// hits marked), its unknowns (a reported one carrying HTML, shown as text) and VEX, and the findings of
// the SBOM, filtered, and one finding's evidence and the rule that decided it. Also GET /signals/facts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { testBackend } from '@stella/testkit';
import type { Page } from 'playwright-core';
import { consolePageProblems, createUser, launchChromium, openPage, screenshot, signIn } from '../console-kit.ts';
import { runCli, startTestServer, type TestServer } from '../helpers.ts';

const EXAMPLE = new URL('../../../../examples/node-app/', import.meta.url);
const SUBJECT = 'stella-example-node-app|1.0.0';
/** path-to-regexp's witness path as the engine gives it: sink first. */
const PATH_TO_REGEXP = [
  'path-to-regexp/index.js#pathtoRegexp',
  'express/lib/router/layer.js#Layer',
  'express/lib/application.js#app.get',
  'app.js#main',
];
const MISSING_SYMBOL = 'left-pad/index.js#gone';
const HTML_SYMBOL = '<img src=x id=injected>';
const HTML_REASON = '<script>document.title="owned"</script>';

interface StoredFinding {
  vulnerabilityId: string;
  reachability: string;
  verdict: string | null;
}

describe(`console Reachability and Findings on ${testBackend()}`, () => {
  let t: TestServer;
  let token: string;
  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${t.base}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${token}`,
        'x-stella-tenant': 'default',
        'content-type': 'application/json',
        ...(init.headers as Record<string, string>),
      },
    });
  const post = async (path: string, body: unknown) => {
    const res = await call(path, { method: 'POST', body: JSON.stringify(body) });
    assert.ok(res.ok, `${path}: ${res.status} ${await res.clone().text()}`);
    return res.json() as Promise<Record<string, unknown>>;
  };
  const cli = async (args: string[]) => {
    const r = await runCli(t, args);
    assert.equal(r.code, 0, `stella ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  };

  before(async () => {
    t = await startTestServer();
    token = await t.token();
    await cli(['sources', 'ingest', '--source', 'ghsa', '--input', join(EXAMPLE.pathname, 'advisories')]);
    // A statement from an issuer the policy does not trust: shown as evidence, it decides nothing.
    const vexDir = mkdtempSync(join(tmpdir(), 'stella-console-vex-'));
    try {
      writeFileSync(
        join(vexDir, 'bot.openvex.json'),
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
      await cli(['sources', 'ingest', '--source', 'openvex', '--input', vexDir]);
    } finally {
      rmSync(vexDir, { recursive: true, force: true });
    }
    await cli(['policy', 'publish', new URL('policy.yaml', EXAMPLE).pathname, '--activate']);
    await cli(['sbom', 'ingest', new URL('sbom.cdx.json', EXAMPLE).pathname]);

    const graph = JSON.parse(readFileSync(new URL('callgraph.json', EXAMPLE), 'utf8'));
    const { callgraphId } = await post('/signals/callgraphs', graph);
    await post('/signals/runtime-facts', {
      callgraphId,
      subject: { component: 'stella-example-node-app', version: '1.0.0' },
      events: [
        { symbolId: 'app.js#main', hitCount: 3, observedAt: '2026-12-01T10:00:00Z' },
        { symbolId: 'express/lib/application.js#app.get', hitCount: 2, observedAt: '2026-12-01T10:00:00Z' },
      ],
    });
    const { targets } = JSON.parse(readFileSync(new URL('targets.json', EXAMPLE), 'utf8')) as { targets: unknown[] };
    await post('/signals/reachability/recompute', {
      subjectKey: SUBJECT,
      targets: [...targets, { symbolId: MISSING_SYMBOL, advisoryId: 'GHSA-test-gone-0001' }],
      wait: true,
    });
    await post('/signals/unknowns', {
      subjectKey: SUBJECT,
      unknowns: [{ symbolId: HTML_SYMBOL, reason: HTML_REASON }],
    });

    // The fact change queues the findings recompute; wait (bounded) until it has judged every finding.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await call(`/findings?subject=${encodeURIComponent(SUBJECT)}`);
      const { items } = (await res.json()) as { items: StoredFinding[] };
      const pathToRegexp = items.find((f) => f.vulnerabilityId === 'CVE-2024-45296');
      if (items.length === 4 && items.every((f) => f.verdict) && pathToRegexp?.reachability === 'reachable') break;
      assert.ok(Date.now() < deadline, `findings were not recomputed: ${JSON.stringify(items)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  });
  after(() => t.close());

  test('GET /signals/facts lists the subject with its counts; a bad limit is a coded 400', async () => {
    const res = await call('/signals/facts?limit=1');
    assert.equal(res.status, 200);
    const page = (await res.json()) as { items: Record<string, unknown>[]; nextCursor: string | null };
    assert.equal(page.nextCursor, null);
    assert.deepEqual(
      page.items.map((s) => [s.subjectKey, s.targets, s.reachableTargets, s.unknownsCount]),
      [[SUBJECT, 5, 3, 1]],
    );
    const bad = await call('/signals/facts?limit=0');
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { code: string }).code, 'ERR_VALIDATION');
  });

  test('in Chromium, a viewer: witness path with runtime hits, unknowns, VEX; findings filtered, one with its evidence', async (ctx) => {
    const password = await createUser(t, 'vera', 'viewer');
    const browser = await launchChromium();
    ctx.after(() => browser.close());
    const { page, problems } = await openPage(browser);
    await signIn(page, t.base, 'vera', password);

    await page.getByRole('navigation', { name: 'Console pages' }).getByRole('link', { name: 'Reachability' }).click();
    await page.getByRole('heading', { level: 1, name: 'Reachability' }).waitFor();
    const row = page.getByRole('row', { name: new RegExp(literally(SUBJECT)) });
    assert.deepEqual((await cells(row)).slice(0, 3), ['5', '3', '1'], 'targets, reachable, unknowns');
    await screenshot(page, 'reachability');

    await page.getByRole('link', { name: SUBJECT, exact: true }).click();
    await page.waitForURL(`${t.base}/console/reachability/${encodeURIComponent(SUBJECT)}`);
    await page.getByRole('heading', { level: 1, name: `Reachability of ${SUBJECT}` }).waitFor();
    const fact = (await (await call(`/signals/facts/${encodeURIComponent(SUBJECT)}`)).json()) as {
      states: { target: string; state: string; bucket: string; score: number }[];
    };
    const expected = fact.states.find((s) => s.target === PATH_TO_REGEXP[0])!;
    const target = page.getByRole('row', { name: /path-to-regexp\/index\.js#pathtoRegexp/ });
    assert.deepEqual((await cells(target)).slice(0, 4), [
      'GHSA-9wv6-86v2-598j',
      expected.state,
      expected.bucket,
      String(expected.score),
    ]);
    await page.getByRole('button', { name: `Show the witness path to ${PATH_TO_REGEXP[0]}` }).click();
    const path = page.getByRole('list', { name: `Witness path to ${PATH_TO_REGEXP[0]}, entrypoint first` });
    const nodes = path.getByRole('listitem');
    await nodes.first().waitFor();
    assert.deepEqual(await nodes.locator('code').allInnerTexts(), [...PATH_TO_REGEXP].reverse());
    assert.deepEqual(await nodes.locator('.witness-role').allTextContents(), [
      'Entrypoint',
      'Call 1',
      'Call 2',
      'Vulnerable symbol',
    ]);
    // The runtime batch hit main three times and app.get twice; nothing else on the path ran.
    const marks = await nodes.evaluateAll((items) =>
      items.map((item) => item.querySelector('.witness-hit-mark')?.textContent ?? null),
    );
    assert.deepEqual(marks, ['Runtime hit: observed 3 times', 'Runtime hit: observed 2 times', null, null]);
    await screenshot(page, 'witness-path');

    const unknowns = page.getByRole('table', { name: /could not place/ });
    assert.deepEqual(await cells(unknowns.getByRole('row', { name: new RegExp(literally(MISSING_SYMBOL)) })), [
      'symbol_not_in_graph',
      'engine',
      'GHSA-test-gone-0001',
    ]);
    // API text is text: the reported unknown's HTML is shown as written, and nothing of it ran or was parsed.
    assert.deepEqual(await cells(unknowns.getByRole('row', { name: /<img/ })), [HTML_REASON, 'reported', '—']);
    assert.equal(await page.locator('#injected').count(), 0);
    assert.notEqual(await page.title(), 'owned');

    const statements = page.getByRole('table', { name: 'Statements' });
    assert.equal((await cells(statements.getByRole('row', { name: /GHSA-9wv6-86v2-598j/ })))[0], 'affected');
    assert.equal((await cells(statements.getByRole('row', { name: /GHSA-75v8-2h7p-7m2m/ })))[0], 'not_affected');
    await page.getByLabel('Format').selectOption('cyclonedx');
    await page.getByText('The document').click();
    await page.getByText('"bomFormat": "CycloneDX"').waitFor();
    await assertFitsNarrowWindow(page, 'the witness path');

    await page.getByRole('link', { name: 'Findings', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Findings' }).waitFor();
    await page.getByRole('link', { name: `Findings of ${SUBJECT}` }).click();
    await page.getByRole('heading', { level: 2, name: `Findings of ${SUBJECT}` }).waitFor();
    const findings = page.getByRole('table', { name: 'Findings in id order' });
    await findings.getByRole('row').nth(4).waitFor();
    assert.deepEqual((await vulnerabilities(page)).sort(), [
      'CVE-2022-25883',
      'CVE-2024-45296',
      'CVE-2025-46653',
      'GHSA-ghmj-crg5-xw2j',
    ]);
    assert.equal(await page.getByRole('button', { name: 'Next page' }).last().isDisabled(), true);
    await screenshot(page, 'findings');
    await assertFitsNarrowWindow(page, 'the findings list');

    // The filters are the API's: reachability=unreachable, then verdict=fail, each its own request.
    await page.getByLabel('Reachability').selectOption('unreachable');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await page.waitForURL(/reachability=unreachable/);
    // The four-row list goes before the filtered one comes (rows of one list never stand for another's).
    await findings.locator('tbody tr').nth(1).waitFor({ state: 'detached' });
    await findings.locator('tbody tr').first().waitFor();
    assert.deepEqual(await vulnerabilities(page), ['CVE-2025-46653']);
    await page.getByLabel('Reachability').selectOption('');
    await page.getByLabel('Verdict').selectOption('fail');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await page.waitForURL(/verdict=fail/);
    await findings.getByRole('link', { name: 'CVE-2024-45296' }).waitFor();
    assert.deepEqual(await vulnerabilities(page), ['CVE-2024-45296']);

    await findings.getByRole('link', { name: 'CVE-2024-45296' }).click();
    await page.getByRole('heading', { level: 1, name: 'CVE-2024-45296 in path-to-regexp@0.1.7' }).waitFor();
    const decision = (await page.getByRole('region', { name: 'Policy decision' }).textContent())!;
    assert.match(decision, /Verdict\s*fail/);
    assert.match(decision, /Decided by\s*rule reachable-high/);
    const source = page.getByRole('table', { name: /advisories that matched/ }).getByRole('row', { name: /GHSA/ });
    assert.match((await cells(source))[0]!, /introduced 0, fixed 0\.1\.10/);
    const vex = page
      .getByRole('table', { name: /Every statement that applies/ })
      .getByRole('row', { name: /triage-bot/ });
    const [status, said, product] = await cells(vex);
    assert.deepEqual([status, product], ['affected', 'pkg:npm/path-to-regexp@0.1.7']);
    assert.match(said!, /^Upgrade path-to-regexp to 0\.1\.10\.\s+2026-12-02T00:00:00Z$/);
    const findingPath = page.getByRole('list', { name: 'Witness path to CVE-2024-45296, entrypoint first' });
    assert.deepEqual(await findingPath.locator('code').allInnerTexts(), [...PATH_TO_REGEXP].reverse());
    await screenshot(page, 'finding');
    await page.getByRole('link', { name: SUBJECT, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: `Reachability of ${SUBJECT}` }).waitFor();

    assert.deepEqual(consolePageProblems(problems), [], 'no console errors or CSP violations on console pages');
  });
});

function literally(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The data cells of a table row (its header cell left out), as shown. */
async function cells(row: ReturnType<Page['getByRole']>): Promise<string[]> {
  return row.getByRole('cell').allInnerTexts();
}

async function vulnerabilities(page: Page): Promise<string[]> {
  return page.getByRole('table', { name: 'Findings in id order' }).locator('tbody th').allInnerTexts();
}

/** At 400 px the page itself never scrolls sideways (wide tables scroll inside their own region). */
async function assertFitsNarrowWindow(page: Page, what: string): Promise<void> {
  await page.setViewportSize({ width: 400, height: 800 });
  const width = await page.evaluate<number>('document.documentElement.scrollWidth');
  assert.ok(width <= 400, `${what} is ${width}px wide in a 400px window`);
  await page.setViewportSize({ width: 1280, height: 800 });
}
