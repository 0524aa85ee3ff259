// Who sees what in the console, in Chromium against a real server: a user of a second tenant sees none
// of the first tenant's data, a user with roles in two tenants picks one on the authority's form and
// sees that tenant only, each role gets the pages and controls its scopes allow, and a wrong password is answered
// with the authority's generic message.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hashSecret } from '@stella/authority';
import { testBackend } from '@stella/testkit';
import type { Browser, Page } from 'playwright-core';
import { consolePageProblems, createUser, launchChromium, openPage, screenshot, signIn } from '../console-kit.ts';
import { runCli, startTestServer, type TestServer } from '../helpers.ts';

/** One event per tenant, with a marker the other tenant's user must never see. */
async function recordEvent(t: TestServer, token: string, tenant: string, marker: string): Promise<void> {
  const res = await fetch(`${t.base}/timeline/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': tenant, 'content-type': 'application/json' },
    body: JSON.stringify({ category: 'runtime', kind: 'console.tenant', details: { marker } }),
  });
  assert.equal(res.status, 201, await res.text());
}

async function timelineText(page: Page, base: string): Promise<string> {
  await page.goto(`${base}/console/timeline`);
  await page.getByRole('heading', { level: 1, name: 'Timeline' }).waitFor();
  // Every event's details, opened, so their text is on the page.
  await page.locator('.events > li, p:has-text("No events")').first().waitFor();
  for (const summary of await page.getByText('Details').all()) await summary.click();
  return (await page.locator('main').textContent()) ?? '';
}

describe(`console tenants and roles (${testBackend()})`, () => {
  let t: TestServer;
  let browser: Browser;
  const ACME_SECRET = 'acme-bot-secret-for-the-console-test';

  before(async () => {
    // A config client makes tenant acme exist and lets the test write into it.
    const yaml = `auth:\n  clients:\n    - clientId: acme-bot\n      secretHash: "${await hashSecret(ACME_SECRET)}"\n      tenants: [acme]\n      scopes: [timeline:write, timeline:read]\n`;
    t = await startTestServer({}, yaml);
    browser = await launchChromium();
    await recordEvent(t, await t.token(undefined, 'default'), 'default', 'default-only-marker');
    const acme = await fetch(`${t.base}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'acme-bot',
        client_secret: ACME_SECRET,
      }),
    });
    await recordEvent(t, ((await acme.json()) as { access_token: string }).access_token, 'acme', 'acme-only-marker');
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  test("a second tenant's user sees none of the first tenant's data; a two-tenant user picks one", async () => {
    const ann = await createUser(t, 'ann', 'viewer', 'default');
    const abe = await createUser(t, 'abe', 'viewer', 'acme');
    const amy = await createUser(t, 'amy', 'operator', 'default');
    assert.equal((await runCli(t, ['users', 'grant', 'amy', '--tenant', 'acme', '--role', 'viewer'])).code, 0);

    const inDefault = await openPage(browser);
    await signIn(inDefault.page, t.base, 'ann', ann);
    const defaultText = await timelineText(inDefault.page, t.base);
    assert.match(defaultText, /default-only-marker/);
    assert.doesNotMatch(defaultText, /acme-only-marker/);
    await inDefault.page.close();

    const inAcme = await openPage(browser);
    await signIn(inAcme.page, t.base, 'abe', abe);
    assert.match((await inAcme.page.getByLabel('Signed in as').textContent())!, /Tenant\s*acme/);
    const acmeText = await timelineText(inAcme.page, t.base);
    assert.match(acmeText, /acme-only-marker/);
    assert.doesNotMatch(acmeText, /default-only-marker/);
    await screenshot(inAcme.page, 'timeline-acme');
    await inAcme.page.close();

    // amy has roles in both: the authority asks which, and the console shows the one chosen.
    const both = await openPage(browser);
    await both.page.goto(`${t.base}/console/`);
    await both.page.getByLabel('Username').fill('amy');
    await both.page.getByLabel('Password').fill(amy);
    await both.page.getByRole('button', { name: 'Sign in' }).click();
    await both.page.getByRole('group', { name: 'Tenant' }).waitFor();
    await both.page.getByLabel('acme').check();
    await both.page.getByRole('button', { name: 'Continue' }).click();
    await both.page.waitForURL(`${t.base}/console/overview`);
    assert.match((await both.page.getByLabel('Signed in as').textContent())!, /Role\s*viewer.*Tenant\s*acme/s);
    const chosenText = await timelineText(both.page, t.base);
    assert.doesNotMatch(chosenText, /default-only-marker/);
    for (const { problems } of [inDefault, inAcme, both]) assert.deepEqual(consolePageProblems(problems), []);
    await both.page.close();
  });

  test('a wrong password gets the generic message and no session', async () => {
    await createUser(t, 'bea', 'viewer');
    const { page } = await openPage(browser);
    await page.goto(`${t.base}/console/`);
    await page.getByLabel('Username').fill('bea');
    await page.getByLabel('Password').fill('not her password at all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    assert.equal(await page.getByRole('alert').textContent(), 'Wrong user name or password.');
    // The user name stays typed; the password does not.
    assert.equal(await page.getByLabel('Username').inputValue(), 'bea');
    assert.equal(await page.getByLabel('Password').inputValue(), '');
    const cookies = await page.context().cookies();
    assert.equal(
      cookies.find((c) => c.name === 'stella_session'),
      undefined,
    );
    await screenshot(page, 'sign-in-refused');
    await page.close();
  });

  test('each role sees the pages and controls its scopes allow', async () => {
    const ALL_PAGES = ['Overview', 'Advisories', 'Reachability', 'Export Center', 'Findings', 'Timeline'];
    // Every role reads everything; what differs is what it may do.
    const verifies = { viewer: false, auditor: true, operator: false, admin: true };
    const managesProfiles = { viewer: false, auditor: false, operator: true, admin: true };
    for (const role of ['viewer', 'auditor', 'operator', 'admin'] as const) {
      const password = await createUser(t, `role-${role}`, role);
      const { page, problems } = await openPage(browser);
      await signIn(page, t.base, `role-${role}`, password);
      const nav = (
        await page.getByRole('navigation', { name: 'Console pages' }).getByRole('link').allTextContents()
      ).map((s) => s.trim());
      assert.deepEqual(nav, ALL_PAGES, role);
      assert.match((await page.getByLabel('Signed in as').textContent())!, new RegExp(`Role\\s*${role}`));

      await page.getByRole('link', { name: 'Advisories' }).click();
      await page.getByRole('heading', { level: 1, name: 'Advisories' }).waitFor();
      await page.getByRole('button', { name: 'Search' }).waitFor();
      assert.equal(await page.getByRole('heading', { name: 'AOC verify' }).count(), verifies[role] ? 1 : 0, role);

      await page.getByRole('link', { name: 'Export Center' }).click();
      await page.getByRole('heading', { level: 2, name: 'Runs' }).waitFor();
      const profileForm = page.getByRole('form', { name: 'New profile from fields' });
      assert.equal(await profileForm.count(), managesProfiles[role] ? 1 : 0, role);
      assert.deepEqual(consolePageProblems(problems), [], role);
      await page.close();
    }
  });
});
