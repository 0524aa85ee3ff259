import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CAPABILITIES } from '@stella/platform';
import { freePort, testBackend, waitFor } from '@stella/testkit';
import { newDatabaseUrl } from '../helpers.ts';

const bin = new URL('../../../cli/src/bin.ts', import.meta.url).pathname;

describe('scale-out: an api and a worker process share one PostgreSQL', {
  skip: !CAPABILITIES[testBackend()].multiProcess && 'needs multiProcess (PostgreSQL leg)',
}, () => {
  const home = mkdtempSync(join(tmpdir(), 'stella-scale-'));
  let database: Awaited<ReturnType<typeof newDatabaseUrl>>;
  const procs: { name: string; child: ChildProcess; base: string; log: () => string }[] = [];

  before(async () => {
    database = await newDatabaseUrl();
    // Both start at once: migrations and the authority bootstrap must tolerate the race.
    for (const target of ['api', 'worker']) {
      const port = await freePort();
      let log = '';
      const child = spawn(process.execPath, [bin, 'serve', '--target', target], {
        env: {
          ...process.env,
          STELLA_HOME: home,
          STELLA_DATABASE_URL: database.url!,
          STELLA_SERVER_PORT: String(port),
          STELLA_LOG_LEVEL: 'warn',
          // One issuer for both, as behind a load balancer: the worker accepts the api's tokens.
          STELLA_SERVER_PUBLIC_URL: 'http://stella-scale.test',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr!.on('data', (d) => {
        log = (log + d).slice(-8000);
      });
      procs.push({ name: target, child, base: `http://127.0.0.1:${port}`, log: () => log });
    }
    for (const p of procs)
      await untilProcess(async () => (await fetch(`${p.base}/readyz`).catch(() => null))?.status === 200, p);
  });

  after(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await database?.drop();
    rmSync(home, { recursive: true, force: true });
  });

  test('the api serves routes, the worker delivers what the api wrote, both stop cleanly on SIGTERM', async () => {
    const [api, worker] = procs as [(typeof procs)[0], (typeof procs)[0]];
    const creds = JSON.parse(readFileSync(join(home, 'credentials.json'), 'utf8'));
    const admin = creds.clients['stella-admin'];
    const tokenRes = await fetch(`${api.base}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: admin.clientId,
        client_secret: admin.clientSecret,
      }),
    });
    assert.equal(tokenRes.status, 200);
    const token = ((await tokenRes.json()) as { access_token: string }).access_token;
    const headers = {
      authorization: `Bearer ${token}`,
      'x-stella-tenant': 'default',
      'content-type': 'application/json',
    };

    const posted = await fetch(`${api.base}/timeline/events`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ category: 'runtime', kind: 'scale.out', details: { from: 'api' } }),
    });
    assert.equal(posted.status, 201);

    const onWorker = await fetch(`${worker.base}/api/v1/timeline/events`, { headers });
    assert.equal(onWorker.status, 404, 'a worker mounts no room routes');

    await untilProcess(async () => {
      const metrics = await (
        await fetch(`${worker.base}/metrics`, { headers: { authorization: `Bearer ${token}` } })
      ).text();
      const delivered = /^stella_outbox_delivered_total (\d+)/m.exec(metrics);
      return Number(delivered?.[1] ?? 0) >= 1;
    }, worker);

    for (const p of procs) {
      const exited = new Promise<number | null>((resolve) => p.child.once('exit', (code) => resolve(code)));
      p.child.kill('SIGTERM');
      assert.equal(await exited, 0, `${p.name} exits 0 after draining:\n${p.log()}`);
    }
  });
});

/** Waits for check, failing at once with the process's log if it exits first. */
function untilProcess(check: () => Promise<boolean>, p: { name: string; child: ChildProcess; log: () => string }) {
  return waitFor(
    () => `${p.name}: the condition within 60 s:\n${p.log()}`,
    async () => {
      if (p.child.exitCode !== null) throw new Error(`${p.name} exited early (${p.child.exitCode}):\n${p.log()}`);
      return check().catch(() => false);
    },
    // Start-up includes migrations and pg-boss's schema; 60 s is generous on a loaded 2-core machine.
    { deadlineMs: 60_000, intervalMs: 200 },
  );
}
