// A worker killed with SIGKILL in the middle of an export run (issue 5, "faults"): nothing partial
// becomes visible, the run is retried by another worker once the heartbeat lapses, and the bundle
// it then publishes verifies. Killed on its last attempt, the run's job is dead-lettered and the run
// fails with ERR_EXPORT_ABANDONED instead of staying `running`. Needs separate API and worker
// processes on one PostgreSQL.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CAPABILITIES } from '@stella/platform';
import { advisoryFixtures, freePort, testBackend, waitFor } from '@stella/testkit';
import { clientToken, newDatabaseUrl } from '../helpers.ts';

const bin = new URL('../../../cli/src/bin.ts', import.meta.url).pathname;
// Few, large documents: the run then spends seconds hashing and compressing (room to kill it
// mid-run) while loading them stays quick.
const DOCUMENTS = 4000;
const BATCH = 400;
const PADDING = 'x'.repeat(16 * 1024);

interface Proc {
  child: ChildProcess;
  base: string;
  log: () => string;
}

// Processes start (migrations, pg-boss schema) and export on a loaded 2-core machine: generous.
const PROCESS_DEADLINE_MS = 90_000;

describe('export: a worker killed mid-run', {
  skip: !CAPABILITIES[testBackend()].multiProcess && 'needs separate API and worker processes (PostgreSQL leg)',
}, () => {
  const home = mkdtempSync(join(tmpdir(), 'stella-export-crash-'));
  let database: Awaited<ReturnType<typeof newDatabaseUrl>>;
  const procs: Proc[] = [];
  const env = () => ({
    ...process.env,
    STELLA_HOME: home,
    STELLA_DATABASE_URL: database.url!,
    STELLA_LOG_LEVEL: 'warn',
    STELLA_EXPORT_HEARTBEAT_SECONDS: '10',
    STELLA_QUEUE_SUPERVISE_INTERVAL_SECONDS: '1',
    STELLA_QUEUE_RETRY_DELAY_SECONDS: '1',
  });

  async function start(target: 'api' | 'worker', extraEnv: Record<string, string> = {}): Promise<Proc> {
    const port = await freePort();
    let log = '';
    const child = spawn(process.execPath, [bin, 'serve', '--target', target], {
      env: { ...env(), ...extraEnv, STELLA_SERVER_PORT: String(port) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.on('data', (d) => {
      log = (log + d).slice(-8000);
    });
    const proc = { child, base: `http://127.0.0.1:${port}`, log: () => log };
    procs.push(proc);
    await waitFor(
      `${target} ready: ${log}`,
      () => (async () => (await fetch(`${proc.base}/readyz`)).status === 200)().catch(() => false),
      { deadlineMs: PROCESS_DEADLINE_MS, intervalMs: 200 },
    );
    return proc;
  }

  /** The bootstrap administrator's token and the headers for tenant default, from the API process. */
  async function adminOf(api: Proc): Promise<{ token: string; headers: Record<string, string> }> {
    const creds = JSON.parse(readFileSync(join(home, 'credentials.json'), 'utf8'));
    const admin = creds.clients['stella-admin'];
    const token = await clientToken(api.base, admin.clientId, admin.clientSecret);
    return { token, headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': 'default' } };
  }

  /** Submits a run of profile crash-raw and returns its id. */
  async function submitRun(api: Proc, headers: Record<string, string>): Promise<string> {
    const submitted = await fetch(`${api.base}/api/export/runs`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ profileId: 'crash-raw' }),
    });
    assert.equal(submitted.status, 202);
    return ((await submitted.json()) as { runId: string }).runId;
  }

  /** Kills the worker as soon as the run reports partial progress (polled; SSE adds up to a second). */
  async function killAtPartialProgress(api: Proc, worker: Proc, runId: string, headers: Record<string, string>) {
    await waitFor(
      'partial progress',
      () =>
        (async () => {
          const run = (await (await fetch(`${api.base}/api/export/runs/${runId}`, { headers })).json()) as {
            progress: { itemsCompleted: number; itemsTotal: number };
          };
          return run.progress.itemsCompleted > 0 && run.progress.itemsCompleted < run.progress.itemsTotal;
        })().catch(() => false),
      { deadlineMs: PROCESS_DEADLINE_MS, intervalMs: 200 },
    );
    worker.child.kill('SIGKILL');
    await new Promise((r) => worker.child.once('exit', r));
  }

  async function stopAll(): Promise<void> {
    for (const p of procs.splice(0)) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
      p.child.kill('SIGTERM');
      await new Promise((r) => p.child.once('exit', r));
    }
  }

  before(async () => {
    database = await newDatabaseUrl();
  });

  after(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await database?.drop();
    rmSync(home, { recursive: true, force: true });
  });

  test('nothing partial is visible; the run is retried and its bundle verifies', { timeout: 300_000 }, async () => {
    const api = await start('api');
    let worker = await start('worker');
    const { headers } = await adminOf(api);

    // Enough documents that the run is still writing data when the worker dies.
    const template = JSON.parse(readFileSync(join(advisoryFixtures(), 'osv-go/current/GO-2024-2687.json'), 'utf8'));
    for (let start = 0; start < DOCUMENTS; start += BATCH) {
      const lines = Array.from({ length: BATCH }, (_, i) => {
        const id = `CRASH-${String(start + i).padStart(6, '0')}`;
        return JSON.stringify({
          source: { vendor: 'crash' },
          content: { raw: JSON.stringify({ ...template, id, details: `${id} ${PADDING}` }) },
        });
      });
      const res = await fetch(`${api.base}/ingest/advisory/batch`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/x-ndjson' },
        body: `${lines.join('\n')}\n`,
      });
      assert.equal(res.status, 200, await res.text());
    }
    const profile = {
      apiVersion: 'stellaops.io/export.v1',
      kind: 'ExportProfile',
      metadata: { name: 'crash-raw' },
      spec: { kind: 'json', variant: 'raw', distribution: ['http'] },
    };
    const created = await fetch(`${api.base}/api/export/profiles`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(profile),
    });
    assert.equal(created.status, 201);
    const runId = await submitRun(api, headers);
    await killAtPartialProgress(api, worker, runId, headers);

    const during = (await (await fetch(`${api.base}/api/export/runs/${runId}`, { headers })).json()) as {
      status: string;
      bundle: unknown;
    };
    assert.equal(during.status, 'running');
    assert.equal(during.bundle, null);
    const exportsDir = join(home, 'cas', 'tenants', 'default', 'exports');
    assert.ok(!existsSync(exportsDir) || readdirSync(exportsDir).length === 0, 'no bundle reached CAS');
    assert.equal((await fetch(`${api.base}/api/export/runs/${runId}/download`, { headers })).status, 409);

    worker = await start('worker');
    let final: { status: string; attempts: number; bundle: { digest: string } | null } | undefined;
    await waitFor(
      `the retried run: ${worker.log()}`,
      () =>
        (async () => {
          final = (await (await fetch(`${api.base}/api/export/runs/${runId}`, { headers })).json()) as typeof final;
          return final!.status === 'succeeded' || final!.status === 'failed';
        })().catch(() => false),
      { deadlineMs: PROCESS_DEADLINE_MS, intervalMs: 200 },
    );
    assert.equal(final!.status, 'succeeded', JSON.stringify(final));
    assert.equal(final!.attempts, 2);
    assert.ok(!existsSync(join(home, 'export-staging', 'default', runId)), 'staging cleaned');
    assert.ok(readdirSync(exportsDir).length > 0, 'the retried run stored its bundle where the first had none');

    const file = join(home, 'bundle.tar.zst');
    writeFileSync(
      file,
      Buffer.from(await (await fetch(`${api.base}/api/export/runs/${runId}/download`, { headers })).arrayBuffer()),
    );
    execFileSync(process.execPath, [bin, 'export', 'verify', file], { env: env(), stdio: 'pipe' });
  });

  test('killed on its last attempt: the job is dead-lettered and the run fails with ERR_EXPORT_ABANDONED', {
    timeout: 300_000,
  }, async () => {
    await stopAll();
    // No retries: the first attempt is the last.
    const noRetries = { STELLA_EXPORT_RUN_RETRY_LIMIT: '0' };
    const api = await start('api', noRetries);
    const worker = await start('worker', noRetries);
    const { headers } = await adminOf(api);
    const runId = await submitRun(api, headers);
    await killAtPartialProgress(api, worker, runId, headers);

    // Another worker: pg-boss's supervisor dead-letters the silent job, and the worker closes the run.
    const next = await start('worker', noRetries);
    let final: { status: string; errorCode: string | null; errors: { code: string; message: string }[] } | undefined;
    await waitFor(
      `the abandoned run fails: ${next.log()}`,
      () =>
        (async () => {
          final = (await (await fetch(`${api.base}/api/export/runs/${runId}`, { headers })).json()) as typeof final;
          return final!.status !== 'running';
        })().catch(() => false),
      { deadlineMs: PROCESS_DEADLINE_MS, intervalMs: 200 },
    );
    assert.equal(final!.status, 'failed', JSON.stringify(final));
    assert.equal(final!.errorCode, 'ERR_EXPORT_ABANDONED');
    assert.match(final!.errors[0]!.message, /the last of 1 attempts stopped without finishing/);

    const events = (await (
      await fetch(`${api.base}/api/v1/timeline/events?category=export&limit=1000`, { headers })
    ).json()) as { items: { kind: string; details: { runId?: string; errorCode?: string } }[] };
    const failed = events.items.filter((e) => e.kind === 'export.run.failed' && e.details.runId === runId);
    assert.deepEqual(
      failed.map((e) => e.details.errorCode),
      ['ERR_EXPORT_ABANDONED'],
    );
    assert.match(final!.errors[0]!.message, /\(job heartbeat timeout\)/);
    // The dead letter stays for operators.
    const letters = JSON.parse(
      execFileSync(process.execPath, [bin, 'orchestrator', 'deadletter', 'list', '--queue', 'export.run', '--json'], {
        env: { ...env(), STELLA_SERVER: api.base },
        encoding: 'utf8',
      }),
    ) as { items: { queue: string; error: string }[] };
    assert.deepEqual(
      letters.items.map((l) => [l.queue, l.error]),
      [['export.run', 'job heartbeat timeout']],
    );
  });

  test('a tenant disabled before its run is worked: the run fails with ERR_AUTH_TENANT_DISABLED, nothing is published', {
    timeout: 300_000,
  }, async () => {
    await stopAll();
    const api = await start('api');
    const { token, headers } = await adminOf(api);
    const setDisabled = async (disabled: boolean) => {
      const res = await fetch(`${api.base}/admin/tenants/default`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ disabled }),
      });
      assert.equal(res.status, 200, await res.text());
    };
    // Queued with no worker running, then the tenant is disabled before any worker takes it.
    const runId = await submitRun(api, headers);
    await setDisabled(true);
    // The tenant's CAS objects (tenants/<tenant>/exports); the earlier tests' bundles are already there.
    const exportsDir = join(home, 'cas', 'tenants', 'default', 'exports');
    const before = readdirSync(exportsDir, { recursive: true }).length;

    const worker = await start('worker');
    await waitFor(
      `the worker fails the run: ${worker.log()}`,
      () => worker.log().includes(runId) && worker.log().includes('ERR_AUTH_TENANT_DISABLED'),
      {
        deadlineMs: PROCESS_DEADLINE_MS,
        intervalMs: 200,
      },
    );
    await setDisabled(false);
    const run = (await (await fetch(`${api.base}/api/export/runs/${runId}`, { headers })).json()) as {
      status: string;
      errorCode: string;
      bundle: unknown;
    };
    assert.deepEqual([run.status, run.errorCode, run.bundle], ['failed', 'ERR_AUTH_TENANT_DISABLED', null]);
    assert.equal(readdirSync(exportsDir, { recursive: true }).length, before, 'nothing reached CAS');
  });
});
