// What every console test in a real browser needs: Debian's Chromium through playwright-core, a user
// made with `stella users create`, a sign-in through the authority's own form, the page's console
// errors and CSP violations collected, and screenshots written to test-results/console/.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findExecutable } from '@stella/testkit';
import { type Browser, type ConsoleMessage, chromium, type Page } from 'playwright-core';
import { runCli, type TestServer } from './helpers.ts';

export const SCREENSHOTS = fileURLToPath(new URL('../../../test-results/console/', import.meta.url));
/** Longer than two metrics samples (5 s apart) and a sign-in round trip on a loaded CI machine. */
export const UI_TIMEOUT_MS = 30_000;

export interface ConsoleProblem {
  url: string;
  text: string;
}

export async function launchChromium(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // Root in a container has no user namespaces for Chromium's sandbox; the pages are our own.
  return chromium.launch({ executablePath: findExecutable('chromium'), args: ['--no-sandbox'] });
}

/** A new page at 1280×800 with the UI timeout, and the list its problems are collected into. */
export async function openPage(browser: Browser): Promise<{ page: Page; problems: ConsoleProblem[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  return { page, problems: await collectConsoleProblems(page) };
}

/** Creates a user with a generated password (`--tenant` is the global flag) and returns the password. */
export async function createUser(t: TestServer, name: string, role: string, tenant = 'default'): Promise<string> {
  const created = await runCli(t, ['users', 'create', name, '--tenant', tenant, '--role', role, '--json']);
  if (created.code !== 0) throw new Error(`stella users create ${name}: ${created.stderr}`);
  return (JSON.parse(created.stdout) as { password: string }).password;
}

/** Opens the console, signs in on the authority's form and waits for the Overview. */
export async function signIn(page: Page, base: string, user: string, password: string): Promise<void> {
  await page.goto(`${base}/console/`);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/console/overview`);
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
}

export function screenshot(page: Page, name: string): Promise<Buffer> {
  return page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
}

/** Console errors, uncaught exceptions and CSP violations, each with the page it happened on. */
export async function collectConsoleProblems(page: Page): Promise<ConsoleProblem[]> {
  const problems: ConsoleProblem[] = [];
  // Runs before the page's scripts (Playwright injects it outside the page's CSP), so it sees every violation.
  await page.addInitScript(`document.addEventListener('securitypolicyviolation', (e) =>
    console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI))`);
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() === 'error') problems.push({ url: page.url(), text: message.text() });
  });
  page.on('pageerror', (error) => problems.push({ url: page.url(), text: `uncaught: ${error.message}` }));
  return problems;
}

/** The problems seen on console pages (the authority's own pages are not the console's). */
export function consolePageProblems(problems: readonly ConsoleProblem[]): ConsoleProblem[] {
  return problems.filter((p) => p.url.includes('/console/'));
}
