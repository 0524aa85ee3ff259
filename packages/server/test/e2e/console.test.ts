// The operator console against a real server: the build served under its CSP and cache policy with
// traversal refused (plain HTTP), then Debian's Chromium driven through playwright-core: sign in on the
// authority's own form, Overview, Timeline paged by cursor, a silent re-authorisation that keeps an
// unsaved filter, sign-out. Screenshots of each page go to test-results/console/.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { CONSOLE_CSP } from '@stella/console';
import { testBackend } from '@stella/testkit';
import type { Page } from 'playwright-core';
import { consolePageProblems, createUser, launchChromium, openPage, screenshot, signIn } from '../console-kit.ts';
import { startTestServer, type TestServer } from '../helpers.ts';

/** A GET with the path sent exactly as written: fetch would resolve `..` before sending. */
function rawGet(
  base: string,
  path: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe(`console on ${testBackend()}`, () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  test('/ and /console lead to the console; the page and its hashed assets are served under the CSP', async () => {
    for (const path of ['/', '/console']) {
      const res = await fetch(`${t.base}${path}`, { redirect: 'manual' });
      assert.equal(res.status, 302, path);
      assert.equal(res.headers.get('location'), '/console/');
    }
    const page = await fetch(`${t.base}/console/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-security-policy'), CONSOLE_CSP);
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    assert.match(page.headers.get('content-type')!, /^text\/html/);
    const html = await page.text();
    // The CSP allows no inline code: every script and style must come from a file.
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/);
    assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i);
    assert.doesNotMatch(html, /https?:\/\//, 'nothing is fetched from another origin');
    const assets = [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.some((a) => a.endsWith('.js')) && assets.some((a) => a.endsWith('.css')), html);
    for (const asset of assets) {
      const res = await fetch(`${t.base}${asset}`);
      assert.equal(res.status, 200, asset);
      assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.equal(res.headers.get('content-security-policy'), CONSOLE_CSP);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.match(res.headers.get('content-type')!, asset.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
    }
    for (const route of ['/console/overview', '/console/timeline', '/console/callback?code=x&state=y']) {
      const res = await fetch(`${t.base}${route}`);
      assert.equal(res.status, 200, route);
      assert.equal(await res.text(), html, `${route} is the single page`);
    }
    const missing = await fetch(`${t.base}/console/assets/index-gone.js`);
    assert.equal(missing.status, 404, 'a stale asset name is not answered with HTML');
    assert.equal(missing.headers.get('content-security-policy'), CONSOLE_CSP);
    assert.equal(((await missing.json()) as { code: string }).code, 'ERR_NOT_FOUND');
    const openapi = (await (await fetch(`${t.base}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    assert.ok(!Object.keys(openapi.paths).some((p) => p === '/' || p.startsWith('/console')), 'not API');
  });

  test('traversal, encoded dots, backslashes and NUL are refused', async () => {
    for (const path of [
      '/console/../package.json',
      '/console/assets/../../package.json',
      '/console/%2e%2e/package.json',
      '/console/%2E%2E/%2e%2e/package.json',
      '/console/assets/%2e%2e%2f%2e%2e%2fpackage.json',
      '/console/..%2fsrc%2fmodule.ts',
      '/console/..%5cpackage.json',
      '/console/%00',
      '/console/index.html%00.js',
      '/console/assets/%2e%2e/index.html',
    ]) {
      const res = await rawGet(t.base, path);
      assert.ok(res.status >= 400 && res.status < 500, `${path} answered ${res.status}`);
      assert.doesNotMatch(res.body, /"workspaces"|"name": "@stella|registerConsoleRoutes|<!doctype/i, path);
    }
  });

  test('in Chromium: sign in, Overview, Timeline paged, silent re-authorisation keeps a draft, sign out', async (ctx) => {
    const password = await createUser(t, 'olga', 'operator');
    const token = await t.token();
    for (let i = 0; i < 30; i++) {
      const res = await fetch(`${t.base}/timeline/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': 'default', 'content-type': 'application/json' },
        body: JSON.stringify({
          category: 'runtime',
          kind: 'console.e2e',
          details: { i, note: '<script>alert(1)</script>' },
        }),
      });
      assert.equal(res.status, 201);
    }

    const browser = await launchChromium();
    ctx.after(() => browser.close());
    const { page, problems } = await openPage(browser);
    await signIn(page, t.base, 'olga', password);
    const who = page.getByLabel('Signed in as');
    assert.match((await who.textContent())!, /User\s*olga.*Role\s*operator.*Tenant\s*default/s);
    await page.getByText('ready', { exact: true }).first().waitFor();
    // Two samples make the first rate: the charts have drawn once that caption shows a number.
    await page.getByText(/written per second: ok \d/).waitFor();
    await page.getByText(/Queue depth: \d+ queued/).waitFor();
    await page.getByText('No export runs yet.').waitFor();
    await screenshot(page, 'overview');

    await page.getByRole('link', { name: 'Timeline' }).click();
    await page.waitForURL(`${t.base}/console/timeline`);
    await page.getByRole('heading', { level: 1, name: 'Timeline' }).waitFor();
    await page.getByLabel('Kind').fill('console.e2e');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await page.getByRole('heading', { name: '#', exact: false }).first().waitFor();
    const firstPage = await eventHeadings(page);
    assert.equal(firstPage.length, 25);
    assert.ok(
      firstPage.every((h) => h.endsWith('console.e2e')),
      firstPage.join(),
    );
    const hashes = await page.locator('code.hash').allTextContents();
    assert.ok(hashes.length === 50 && hashes.every((h) => /^sha256:[0-9a-f]{64}$/.test(h)), hashes.join());
    // Text from the API is text: the fixture's <script> shows, it never runs.
    await page.getByText('Details').first().click();
    await page.getByText('<script>alert(1)</script>').first().waitFor();
    // The server's chain check, from the button: every event so far verifies from genesis.
    await page.getByRole('button', { name: 'Verify chain' }).click();
    const verified = await page
      .getByText(/Chain verified from genesis \(\d+ signed checkpoints?\): \d+ events/)
      .textContent();
    assert.ok(Number(/(\d+) events/.exec(verified!)![1]) >= 30, verified!);
    await screenshot(page, 'timeline');

    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByText('Page 2').waitFor();
    // Locator waits, not waitForFunction: its polling evaluates a string in the page, which the CSP forbids.
    await page.locator('.events > li').nth(5).waitFor({ state: 'detached' });
    await page.locator('.events > li').nth(4).waitFor();
    assert.deepEqual(
      (await eventHeadings(page)).map((h) => h.split(' ')[0]),
      Array.from({ length: 5 }, (_, i) => `#${Number(firstPage[24]!.split(' ')[0]!.slice(1)) + 1 + i}`),
    );
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.getByText('Page 1', { exact: true }).waitFor();

    await page.setViewportSize({ width: 400, height: 800 });
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth');
    assert.ok(overflow <= 400, `the timeline is ${overflow}px wide in a 400px window`);
    await screenshot(page, 'timeline-narrow');
    await page.setViewportSize({ width: 1280, height: 800 });

    // An API 401 mid-page: the console keeps the typed (unapplied) filter, re-authorises silently on the
    // authority's sign-in cookie, and comes back to the same page with the filter still typed.
    await page.getByLabel('Category').fill('runtime-draft');
    await page.evaluate("sessionStorage.removeItem('stella.console.last-sign-in')");
    await page.route('**/api/v1/timeline/events?*', (route) => route.fulfill({ status: 401, body: '{}' }), {
      times: 1,
    });
    const refused = problems.length;
    // /authorize answers with a redirect at once (the cookie), so the callback is the first page committed.
    const backFromAuthority = page.waitForURL(/\/console\/callback\?code=/);
    await page.getByRole('button', { name: 'Next page' }).click();
    await backFromAuthority;
    await page.waitForURL(`${t.base}/console/timeline`);
    await page.getByRole('heading', { level: 1, name: 'Timeline' }).waitFor();
    assert.equal(await page.getByLabel('Category').inputValue(), 'runtime-draft');
    // The one error Chromium logs for the faked 401 is the test's own doing.
    const faked = problems.splice(refused).filter((p) => !/status of 401/.test(p.text));
    problems.push(...faked);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${t.base}/console/signed-out`);
    await page.getByRole('heading', { level: 1, name: 'Signed out' }).waitFor();
    assert.equal(await page.getByLabel('Signed in as').count(), 0, 'no user shown after sign-out');
    await screenshot(page, 'signed-out');
    await page.getByRole('button', { name: 'Sign in' }).click();
    // The authority's session ended with the sign-out: it asks for the password again.
    await page.getByLabel('Password').waitFor();

    assert.deepEqual(consolePageProblems(problems), [], 'no console errors or CSP violations on console pages');
  });
});

async function eventHeadings(page: Page): Promise<string[]> {
  return (await page.locator('.events h2').allTextContents()).map((h) => h.trim());
}
