// The console's Export Center in Chromium against real servers. With a worker: an operator creates a
// profile from the form, starts a run and watches the progress bar reach 100 % from the SSE stream,
// downloads the bundle (its sha256 is the run's digest), replays it; a refused profile shows its
// problem+json; a viewer sees the runs but no controls. API-only (runs stay queued, so nothing races
// the test): the stream survives a server restart with Last-Event-ID, and Cancel ends the run.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { advisoryFixtures, freePort, testBackend } from '@stella/testkit';
import type { Browser, Page } from 'playwright-core';
import {
  type ConsoleProblem,
  consolePageProblems,
  createUser,
  launchChromium,
  openPage,
  screenshot,
  signIn,
} from '../console-kit.ts';
import { fixtureSources, runCli, startTestServer, type TestServer } from '../helpers.ts';

interface RunView {
  runId: string;
  status: string;
  bundle: { digest: string; fileName: string } | null;
}

/** The API as a client with the admin's token (all scopes), or another token given. */
function apiOf(t: TestServer) {
  return async (path: string, init: { method?: string; body?: unknown; token?: string } = {}) =>
    fetch(`${t.base}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        authorization: `Bearer ${init.token ?? (await t.token())}`,
        'x-stella-tenant': 'default',
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
}

async function openExportCenter(page: Page): Promise<void> {
  await page.getByRole('link', { name: 'Export Center' }).click();
  await page.getByRole('heading', { level: 1, name: 'Export Center' }).waitFor();
}

/** Far longer than a restart takes, so a stop that waited for an open stream cannot pass unnoticed. */
const SHUTDOWN_GRACE_MS = 60_000;

const RUN_URL = /\/console\/exports\/runs\/(run-[0-9a-z]+)$/;

describe(`console Export Center with a worker on ${testBackend()}`, () => {
  let t: TestServer;
  let browser: Browser;
  let runId: string;
  before(async () => {
    t = await startTestServer();
    // One upstream source is enough for a bundle with records and a few progress events.
    const { folder, vendor } = fixtureSources().find((s) => s.folder === 'cve5')!;
    const ingested = await runCli(t, [
      'sources',
      'ingest',
      '--source',
      vendor,
      '--input',
      join(advisoryFixtures(), folder),
    ]);
    assert.equal(ingested.code, 0, ingested.stderr);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t.close();
  });

  test('an operator creates a profile, starts a run to 100 % over SSE, downloads and replays it', async () => {
    const password = await createUser(t, 'otto', 'operator');
    const { page, problems } = await openPage(browser);
    await signIn(page, t.base, 'otto', password);
    await openExportCenter(page);
    await page.getByText('No export profiles yet.').waitFor();
    await page.getByText(/runs left today/).waitFor();

    const form = page.getByRole('form', { name: 'New profile from fields' });
    await form.getByLabel('Profile name').fill('console-raw');
    await form.getByLabel('Kind', { exact: true }).selectOption('json:raw');
    await form.getByLabel('Retention', { exact: true }).selectOption('count');
    await form.getByLabel('Retention value').fill('5');
    await form.getByRole('button', { name: 'Create profile' }).click();
    await page.getByText('Profile console-raw r1 stored.').waitFor();
    const stored = (await (await apiOf(t)('/api/export/profiles/console-raw')).json()) as {
      document: { spec: { kind: string; variant: string; distribution: string[]; retention: unknown } };
    };
    assert.deepEqual(
      [stored.document.spec.kind, stored.document.spec.variant, stored.document.spec.distribution],
      ['json', 'raw', ['http']],
    );
    assert.deepEqual(stored.document.spec.retention, { mode: 'count', value: 5 });
    await page.getByText('console-raw: last 5 runs').waitFor();

    // A document the API refuses: its problem+json title, detail and code are shown; nothing is stored.
    const pasted = page.getByRole('form', { name: 'New profile from a document' });
    await pasted
      .getByRole('textbox')
      .fill(JSON.stringify({ apiVersion: 'stellaops.io/export.v1', kind: 'ExportProfile', metadata: { name: 'bad' } }));
    await pasted.getByRole('button', { name: 'Create from document' }).click();
    const problem = page.getByRole('alert');
    await problem.getByText('ERR_EXPORT_001').waitFor();
    await problem.getByText('Invalid export request').waitFor();
    await problem.getByText('invalid export profile: /: missing required property "spec"').waitFor();

    // YAML the parser cannot read: the server's coded refusal names the line.
    await pasted
      .getByRole('textbox')
      .fill('apiVersion: stellaops.io/export.v1\nkind: ExportProfile\nspec: [json, raw\n');
    await pasted.getByRole('button', { name: 'Create from document' }).click();
    await page.getByRole('alert').getByText('ERR_MALFORMED_BODY').waitFor();
    await page
      .getByRole('alert')
      .getByText(/not valid YAML or JSON: .* at line \d+/)
      .waitFor();

    // A profile pasted as YAML; markup in API text stays text: a label value comes back in the revision's document.
    const label = '<img src=x onerror=alert(1)>';
    await pasted
      .getByRole('textbox')
      .fill(
        [
          'apiVersion: stellaops.io/export.v1',
          'kind: ExportProfile',
          'metadata:',
          '  name: labelled',
          '  labels:',
          `    note: "${label}"`,
          'spec: {kind: json, variant: raw, distribution: [http]}',
          '',
        ].join('\n'),
      );
    await pasted.getByRole('button', { name: 'Create from document' }).click();
    await page.getByText('Profile labelled r1 stored.').waitFor();
    await page.locator('summary', { hasText: 'labelled' }).click();
    await page.getByText(label, { exact: false }).waitFor();
    assert.equal(await page.locator('img').count(), 0, 'the label is not markup');

    const start = page.getByRole('form', { name: 'Start a run' });
    await start.getByLabel('Profile to run').selectOption('console-raw');
    await start.getByRole('button', { name: 'Start run' }).click();
    await page.waitForURL(RUN_URL);
    runId = RUN_URL.exec(page.url())![1]!;
    // The bar moves only with the stream's events; 100 % comes with `completed`.
    await page.locator('progress[value="100"]').waitFor();
    await page.getByRole('list', { name: 'Run events' }).getByText('completed').waitFor();
    await page.getByText('Run finished; stream closed.').waitFor();
    const types = await page.getByRole('list', { name: 'Run events' }).locator('strong').allTextContents();
    assert.equal(types[0], 'queued');
    assert.ok(types.includes('started') && types.at(-1) === 'completed', types.join());
    assert.equal(await page.getByRole('progressbar', { name: 'Progress' }).count(), 1, 'a labelled progress bar');

    const run = (await (await apiOf(t)(`/api/export/runs/${runId}`)).json()) as RunView;
    assert.equal(run.status, 'succeeded');
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download bundle' }).click();
    const download = await downloading;
    assert.equal(download.suggestedFilename(), run.bundle!.fileName);
    const bytes = readFileSync((await download.path())!);
    assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, run.bundle!.digest);
    await page.getByText(/matches the run’s bundle digest/).waitFor();
    await screenshot(page, 'export-run');

    await page.getByRole('button', { name: 'Replay run' }).click();
    await page.waitForURL((url) => RUN_URL.test(url.pathname) && !url.pathname.endsWith(runId));
    await page.locator('progress[value="100"]').waitFor();
    const replayId = RUN_URL.exec(page.url())![1]!;
    const replay = (await (await apiOf(t)(`/api/export/runs/${replayId}`)).json()) as RunView & { replayOf: string };
    assert.equal(replay.replayOf, runId);

    await page.getByRole('link', { name: '← Export Center' }).click();
    await page.getByRole('heading', { level: 1, name: 'Export Center' }).waitFor();
    const rows = page.getByRole('table').locator('tbody tr');
    await rows.nth(1).waitFor();
    assert.deepEqual(
      (await rows.locator('td:first-child').allTextContents()).slice(0, 2),
      [replayId, runId],
      'newest first',
    );
    await screenshot(page, 'exports');

    await page.setViewportSize({ width: 400, height: 800 });
    const width = await page.evaluate<number>('document.documentElement.scrollWidth');
    assert.ok(width <= 400, `the Export Center is ${width}px wide in a 400px window`);
    await screenshot(page, 'exports-narrow');
    assert.deepEqual(consolePageProblems(problems).filter(notTheRefusedProfile), []);
  });

  test('a viewer sees the runs but no Start, Cancel, Replay or Download; the API refuses them anyway', async () => {
    assert.ok(runId, 'the operator test ran first');
    const password = await createUser(t, 'vera', 'viewer');
    const { page, problems } = await openPage(browser);
    await signIn(page, t.base, 'vera', password);
    await openExportCenter(page);
    await page.getByRole('link', { name: runId }).waitFor();
    for (const name of ['Start run', 'Create profile', 'Create from document', 'Run retention now', 'Set quota']) {
      assert.equal(await page.getByRole('button', { name }).count(), 0, `no ${name} button for a viewer`);
    }
    await page.getByRole('link', { name: runId }).click();
    await page.getByText('Run finished; stream closed.').waitFor();
    for (const name of ['Cancel run', 'Replay run', 'Download bundle']) {
      assert.equal(await page.getByRole('button', { name }).count(), 0, `no ${name} button for a viewer`);
    }
    const readOnly = await t.token('export:read');
    for (const path of [`/api/export/runs/${runId}/replay`, `/api/export/runs/${runId}/cancel`]) {
      const refused = await apiOf(t)(path, { body: {}, token: readOnly });
      assert.equal(refused.status, 403, path);
    }
    assert.deepEqual(consolePageProblems(problems), []);
  });
});

describe(`console Export Center without a worker on ${testBackend()}`, () => {
  let t: TestServer;
  let browser: Browser;
  before(async () => {
    // API only: a submitted run stays queued until cancelled. A fixed port, so the restart comes back
    // where the browser's stream reconnects, and the token's issuer stays the same.
    const port = await freePort();
    t = await startTestServer({
      STELLA_SERVER_TARGET: 'api',
      STELLA_SERVER_PORT: String(port),
      STELLA_SERVER_SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS),
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t.close();
  });

  test('a server restart mid-stream resumes with Last-Event-ID; Cancel ends the queued run', async () => {
    const api = apiOf(t);
    const profile = {
      apiVersion: 'stellaops.io/export.v1',
      kind: 'ExportProfile',
      metadata: { name: 'waiting' },
      spec: { kind: 'json', variant: 'raw', distribution: ['http'] },
    };
    assert.equal((await api('/api/export/profiles', { body: profile })).status, 201);
    const submitted = await api('/api/export/runs', { body: { profileId: 'waiting', allowEmpty: true } });
    const { runId } = (await submitted.json()) as { runId: string };

    const password = await createUser(t, 'omar', 'operator');
    const { page, problems } = await openPage(browser);
    const streamRequests: (string | undefined)[] = [];
    page.on('request', (request) => {
      if (request.url().endsWith(`/api/export/runs/${runId}/events`)) {
        streamRequests.push(request.headers()['last-event-id']);
      }
    });
    await signIn(page, t.base, 'omar', password);
    await page.goto(`${t.base}/console/exports/runs/${runId}`);
    await page.getByRole('heading', { level: 1, name: `Run ${runId}` }).waitFor();
    await page.getByRole('list', { name: 'Run events' }).getByText('queued').waitFor();
    await page.getByText('Live', { exact: true }).waitFor();
    assert.deepEqual(streamRequests, [undefined]);

    // The server ends open streams when it stops: waiting for this one would take the whole grace period.
    const stopping = Date.now();
    await t.restart();
    assert.ok(Date.now() - stopping < SHUTDOWN_GRACE_MS, 'the open stream did not hold the restart');
    await page.getByText('Live (resumed after event #1)').waitFor();
    assert.equal(streamRequests.at(-1), '1', 'the reconnect names the last event seen');
    assert.equal(
      await page.getByRole('list', { name: 'Run events' }).locator('li').count(),
      1,
      'nothing replayed twice',
    );

    await page.getByRole('button', { name: 'Cancel run' }).click();
    await page.getByRole('list', { name: 'Run events' }).getByText('cancelled').waitFor();
    await page.getByText('Run finished; stream closed.').waitFor();
    await page.getByRole('button', { name: 'Replay run' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Cancel run' }).count(), 0, 'nothing left to cancel');
    const run = (await (await api(`/api/export/runs/${runId}`)).json()) as RunView;
    assert.equal(run.status, 'cancelled');
    // Around the restart the browser logs its refused connections and the 503 a stopping server answers
    // (the stream retries both); nothing else may show.
    assert.deepEqual(
      consolePageProblems(problems).filter(
        (p) => !/ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_INCOMPLETE_CHUNKED_ENCODING|status of 503/.test(p.text),
      ),
      [],
    );
  });
});

/** Chromium logs the 400 the test provoked on purpose. */
function notTheRefusedProfile(problem: ConsoleProblem): boolean {
  return !/status of 400/.test(problem.text);
}
