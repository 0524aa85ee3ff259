// The console's Advisories page in Chromium against a real server: an auditor searches a CVE from the
// fixtures and sees every source of its linkset in its own column, opens a raw document shown byte for
// byte with its revision chain, reads a fixture copy carrying <script> as text, and runs AOC verify
// from the page (violations by ERR_AOC code, verify_runs_total{initiator="ui"} rising); a viewer gets
// no verify button. Screenshots go to test-results/console/.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { advisoryFixtures, scratchDir, testBackend } from '@stella/testkit';
import type { Browser, Page } from 'playwright-core';
import { consolePageProblems, createUser, launchChromium, openPage, screenshot, signIn } from '../console-kit.ts';
import { runCli, startTestServer, type TestServer, tamper } from '../helpers.ts';

const FIXTURES = advisoryFixtures();
/** CVE-2023-45288 is GHSA-4v7x-pqxf-cx7m (ghsa) and GO-2024-2687 (Go vulndb): two families, one linkset. */
const CVE = 'CVE-2023-45288';
/** Five upstream revisions of one Go vulndb record (fixture README: supersede chains). */
const CHAINED = 'GO-2021-0075';
const INJECTED_ID = 'GO-2099-0001';
/** Would set the flag if any of it ran: as a script element, or as an image's error handler. */
const SCRIPT = '<script>window.__stellaInjected = true</script>';
const IMAGE = '<img src="x" onerror="window.__stellaInjected = true">';

/** A copy of GO-2024-2687 (never the fixture itself) whose text and one alias carry markup. */
function injectedCopy(): { file: string; text: string } {
  const doc = JSON.parse(readFileSync(join(FIXTURES, 'osv-go/current/GO-2024-2687.json'), 'utf8'));
  doc.id = INJECTED_ID;
  doc.summary = `${SCRIPT} in the summary`;
  doc.details = `Details ${IMAGE} ${SCRIPT}`;
  doc.aliases = [CVE, IMAGE];
  const file = join(scratchDir('console-advisories-'), `${INJECTED_ID}.json`);
  const text = JSON.stringify(doc, null, 2);
  writeFileSync(file, text);
  return { file, text };
}

async function ingest(t: TestServer, vendor: string, input: string): Promise<void> {
  const r = await runCli(t, ['sources', 'ingest', '--source', vendor, '--input', input, '--json']);
  assert.equal(r.code, 0, `${vendor} ${input}: ${r.stdout}${r.stderr}`);
}

async function uiVerifyRuns(t: TestServer): Promise<number> {
  const res = await fetch(`${t.base}/metrics`, { headers: { authorization: `Bearer ${await t.token()}` } });
  assert.equal(res.status, 200);
  const line = /^verify_runs_total\{[^}]*initiator="ui"[^}]*\} (\d+)$/m.exec(await res.text());
  return line ? Number(line[1]) : 0;
}

async function openAdvisories(page: Page): Promise<void> {
  await page.getByRole('navigation', { name: 'Console pages' }).getByRole('link', { name: 'Advisories' }).click();
  await page.getByRole('heading', { level: 1, name: 'Advisories' }).waitFor();
}

/** Searches from the keyboard: the term typed, Enter submits the form. */
async function search(page: Page, by: string, term: string): Promise<void> {
  await page.getByLabel('Search by').selectOption({ label: by });
  const field = page.getByLabel('Identifier or purl');
  await field.fill(term);
  await field.press('Enter');
  await page.getByRole('heading', { level: 2, name: 'Linkset by source' }).waitFor();
}

describe(`console Advisories page on ${testBackend()}`, () => {
  let t: TestServer;
  let browser: Browser;
  let auditorPassword: string;
  const injected = injectedCopy();

  before(async () => {
    t = await startTestServer();
    browser = await launchChromium();
    await ingest(t, 'ghsa', join(FIXTURES, 'ghsa/via-trivy-db/GHSA-4v7x-pqxf-cx7m.json'));
    await ingest(t, 'go-vulndb', join(FIXTURES, 'osv-go/current/GO-2024-2687.json'));
    await ingest(t, 'go-vulndb', join(FIXTURES, `osv-go/history/${CHAINED}`));
    await ingest(t, 'markup-test', injected.file);
    auditorPassword = await createUser(t, 'audrey', 'auditor');
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  test('an auditor searches a CVE and sees every source of its linkset side by side', async () => {
    const { page, problems } = await openPage(browser);
    await signIn(page, t.base, 'audrey', auditorPassword);
    await openAdvisories(page);
    // Every control has a name a screen reader reads and a keyboard reaches in order.
    await page.getByLabel('Identifier or purl').focus();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate<string | null>("document.activeElement.getAttribute('name')"), 'source');
    await search(page, 'CVE', CVE);
    assert.match(page.url(), /\/console\/advisories\?by=cve&q=CVE-2023-45288$/);

    const columns = page.getByRole('region', { name: 'Sources side by side, scrollable' });
    for (const [vendor, upstreamId] of [
      ['ghsa', 'GHSA-4v7x-pqxf-cx7m'],
      ['go-vulndb', 'GO-2024-2687'],
      ['markup-test', INJECTED_ID],
    ]) {
      const column = columns.getByRole('region', { name: vendor, exact: true });
      await column.getByRole('link', { name: upstreamId }).waitFor();
      // Each column holds only its own source's records: never one merged row.
      assert.equal(
        await column
          .getByRole('listitem')
          .filter({ has: page.getByRole('link') })
          .count(),
        1,
        vendor,
      );
    }
    assert.equal(await columns.getByRole('heading', { level: 3 }).count(), 3);
    // An alias carrying markup is text in its column.
    await columns.getByText(IMAGE, { exact: false }).waitFor();
    // The same search's raw advisories, paged by the API's cursor.
    const table = page.getByRole('region', { name: 'Raw advisories, scrollable' });
    await table.getByRole('link', { name: 'GO-2024-2687' }).waitFor();
    await screenshot(page, 'advisory-linkset');

    // At 400 px the page wraps instead of widening: the columns scroll inside their own region.
    await page.setViewportSize({ width: 400, height: 800 });
    await page.waitForFunction('document.documentElement.scrollWidth <= window.innerWidth');
    await screenshot(page, 'advisories-narrow');
    await page.setViewportSize({ width: 1280, height: 800 });
    assert.deepEqual(consolePageProblems(problems), []);
    await page.close();
  });

  test('a raw document is shown exactly as received, with its provenance and revision chain', async () => {
    const { page, problems } = await openPage(browser);
    await signIn(page, t.base, 'audrey', auditorPassword);
    await openAdvisories(page);
    await search(page, 'Any id (GO-, PYSEC-, vendor)', CHAINED);
    await page.getByRole('region', { name: 'go-vulndb', exact: true }).getByRole('link', { name: CHAINED }).click();
    await page.getByRole('heading', { level: 1, name: 'Raw record' }).waitFor();
    const head = `advisory_raw:go-vulndb:${CHAINED}:5`;
    assert.equal(new URL(page.url()).searchParams.get('id'), head);

    // The <pre> holds the stored bytes as text; the page's own sha256 of them matches the stored hash.
    const raw = page.getByRole('region', { name: 'Raw document text, scrollable' });
    await raw.waitFor();
    const served = await fetch(`${t.base}/advisories/raw/${encodeURIComponent(head)}/raw`, {
      headers: { authorization: `Bearer ${await t.token()}`, 'x-stella-tenant': 'default' },
    });
    const storedHash = served.headers.get('x-stella-content-hash')!;
    assert.equal(await raw.locator('pre').textContent(), await served.text());
    await page.getByText('matches', { exact: true }).waitFor();
    const facts = page.getByRole('region', { name: `go-vulndb · ${CHAINED} · revision 5` });
    await facts.getByText(storedHash).first().waitFor();
    await facts.getByText(/^go-vulndb \(connector /).waitFor();

    // The chain as a timeline, first revision to head, each superseding the one before.
    const chain = page.getByRole('list', { name: 'Revision chain' });
    assert.equal(await chain.getByRole('listitem').count(), 5);
    const shown = chain.locator('[aria-current="true"]');
    assert.match((await shown.getByRole('heading').textContent()) ?? '', /^Revision 5\s*head\s*shown$/);
    await chain.getByRole('link', { name: 'Revision 4' }).click();
    await page.getByRole('region', { name: `go-vulndb · ${CHAINED} · revision 4` }).waitFor();
    await page.getByRole('link', { name: `advisory_raw:go-vulndb:${CHAINED}:3` }).waitFor();
    await screenshot(page, 'advisory-record');
    assert.deepEqual(consolePageProblems(problems), []);
    await page.close();
  });

  test('<script> inside advisory text is shown as text and never runs', async () => {
    const { page, problems } = await openPage(browser);
    await signIn(page, t.base, 'audrey', auditorPassword);
    // Opened as a link from outside: the console re-authorises and comes back to the same record.
    const id = `advisory_raw:markup-test:${INJECTED_ID}:1`;
    await page.goto(`${t.base}/console/advisories/record?${new URLSearchParams({ id })}`);
    const pre = page.getByRole('region', { name: 'Raw document text, scrollable' }).locator('pre');
    await pre.waitFor();
    // Exactly the bytes ingested, markup and all, as text.
    assert.equal(await pre.textContent(), injected.text);
    // The alias with markup is a link whose name is the markup, as text.
    await page.getByRole('link', { name: IMAGE }).waitFor();
    assert.equal(await page.locator('main script, main img').count(), 0, 'no element was made from advisory text');
    assert.equal(await page.evaluate<unknown>('window.__stellaInjected'), undefined);
    assert.deepEqual(consolePageProblems(problems), [], 'no CSP violation and no console error');
    await page.close();
  });

  test('AOC verify from the page lists violations by code and counts as a ui run', async () => {
    await tamper(
      t,
      `update advisory_raw set raw = replace(raw, 'GO-2024-2687', 'GO-2024-2688') where upstream_id = 'GO-2024-2687'`,
    );
    const before = await uiVerifyRuns(t);
    const { page, problems } = await openPage(browser);
    await signIn(page, t.base, 'audrey', auditorPassword);
    await openAdvisories(page);
    await page.getByLabel('Since (time or duration)').fill('1h');
    await page.getByRole('button', { name: 'Run AOC verify' }).click();
    await page.getByText(/^\d+ violations? \(\d+ in advisory_raw/).waitFor();
    const violations = page.getByRole('region', { name: 'Violations, scrollable' });
    const row = violations.getByRole('row').filter({ hasText: 'advisory_raw:go-vulndb:GO-2024-2687:1' });
    await row.getByRole('cell', { name: 'ERR_AOC_005', exact: true }).waitFor();
    assert.equal(await uiVerifyRuns(t), before + 1);
    await screenshot(page, 'advisories');

    // The tampered record's page shows the bytes do not hash to the stored hash.
    await row.getByRole('link').click();
    await page.getByText('does not match the stored hash', { exact: false }).waitFor();
    assert.deepEqual(consolePageProblems(problems), []);
    await page.close();
  });

  test('a viewer (no aoc:verify) searches but has no verify button', async () => {
    const password = await createUser(t, 'vera', 'viewer');
    const { page, problems } = await openPage(browser);
    await signIn(page, t.base, 'vera', password);
    await openAdvisories(page);
    await search(page, 'CVE', CVE);
    await page.getByRole('region', { name: 'ghsa', exact: true }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Run AOC verify' }).count(), 0);
    assert.equal(await page.getByRole('heading', { name: 'AOC verify' }).count(), 0);
    assert.deepEqual(consolePageProblems(problems), []);
    await page.close();
  });
});
