// Storage faults at run time (issue 11): a CAS or database that turns read-only, and an embedded
// database whose disk fills up, must turn /readyz 503 naming the store, answer writes with 503
// ERR_STORAGE_UNAVAILABLE instead of 500 or a hang, keep /healthz alive, and recover without a restart
// once the store accepts writes again.
//
// How a store is made read-only here, as root (where chmod stops nothing): the CAS directory gets a
// read-only bind mount of itself, so the kernel answers EROFS to writes while reads go on, exactly as
// on a volume remounted read-only. Without the privilege to mount, a non-root user gets chmod a-w
// (EACCES) and root gets the CAS directory swapped for a plain file (ENOTDIR on every write), each a
// deterministic way to refuse writes. The database is made read-only by default_transaction_read_only:
// PostgreSQL per database through the test kit's admin URL, with the app's connections ended so new
// ones pick it up (what a failover to a read-only node looks like); PGlite, a single in-process
// session, by SET on that session. A full disk is a small tmpfs under the embedded database, filled
// with a file: needs the privilege to mount, skipped otherwise.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { Errors } from '@stella/core';
import { createLogger, type Module } from '@stella/platform';
import { scratchDir, testBackend, waitFor } from '@stella/testkit';
import pg from 'pg';
import { loadServerConfig, modules, type RunningServer, startServer } from '../../src/index.ts';
import { newDatabaseUrl } from '../helpers.ts';

// Bounds every wait for the server to notice something; probes run every PROBE_INTERVAL_MS here.
const WAIT_MS = 20_000;
const PROBE_INTERVAL_MS = 100;

/** A room that writes to each store on request; the table it writes is updated in place (HOT). */
const faultsModule: Module = {
  name: 'faults',
  async start(ctx) {
    await ctx.db.query(
      'create table if not exists fault_rows (id integer primary key, v text not null) with (fillfactor = 10)',
    );
    await ctx.db.query(`insert into fault_rows (id, v) values (0, 'seed') on conflict do nothing`);
  },
  routes(app, ctx) {
    app.post('/faults/cas', async (request) => {
      const { text } = request.body as { text: string };
      return { uri: (await ctx.blobs.forTenant('default').put('faults', Buffer.from(text))).uri };
    });
    app.post('/faults/db', async (request) => {
      const { id, text } = request.body as { id: number; text: string };
      await ctx.db.transaction((tx) =>
        tx.query('insert into fault_rows (id, v) values ($1, $2) on conflict (id) do update set v = excluded.v', [
          id,
          text,
        ]),
      );
      return { id };
    });
    app.get('/faults/db/:id', async (request) => {
      const { rows } = await ctx.db.query<{ v: string }>('select v from fault_rows where id = $1', [
        Number((request.params as { id: string }).id),
      ]);
      return { v: rows[0]?.v ?? null };
    });
  },
};

interface Harness {
  server: RunningServer;
  home: string;
  databaseUrl: string | undefined;
  logs: Record<string, unknown>[];
  post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  readiness(): Promise<{ status: number; failing: string[]; checks: Record<string, string> }>;
  /** Waits for /readyz to answer 200. */
  ready(when: string): Promise<void>;
  close(): Promise<void>;
}

async function harness(prepareHome?: (home: string) => void): Promise<Harness> {
  const home = scratchDir('stella-storage-faults-');
  prepareHome?.(home);
  const database = await newDatabaseUrl();
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line));
      callback();
    },
  });
  const env = {
    STELLA_HOME: home,
    STELLA_SERVER_PORT: '0',
    STELLA_SERVER_DOCS_UI: 'false',
    STELLA_SERVER_STORAGE_PROBE_INTERVAL_MS: String(PROBE_INTERVAL_MS),
    ...(database.url ? { STELLA_DATABASE_URL: database.url } : {}),
  };
  const server = await startServer({
    config: loadServerConfig({ env }).config,
    logger: createLogger({ level: 'info', destination: sink }),
    modules: [...modules, faultsModule],
  });
  const handle: Harness = {
    server,
    home,
    databaseUrl: database.url,
    logs,
    async post(path, body) {
      const response = await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    async readiness() {
      const response = await fetch(`${server.url}/readyz`);
      const body = (await response.json()) as { failing: string[]; checks: Record<string, string> };
      return { ...body, status: response.status };
    },
    async ready(when) {
      let last: unknown;
      await waitFor(
        () => `readiness ${when} (last answer ${JSON.stringify(last)})`,
        async () => {
          const ready = await handle.readiness();
          last = ready;
          return ready.status === 200 ? true : undefined;
        },
        { deadlineMs: WAIT_MS },
      );
    },
    async close() {
      await server.close();
      await database.drop();
    },
  };
  return handle;
}

/** The line the server logs when a store starts failing, one per transition. */
function faultLines(logs: Record<string, unknown>[], store: string): Record<string, unknown>[] {
  return logs.filter(
    (line) => line.store === store && /^storage \S+ (is|reports|stopped|cannot)/.test(String(line.msg)),
  );
}

function canMount(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const probe = scratchDir('stella-mount-probe-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const MOUNTABLE = canMount();

/** Makes dir refuse writes in the most faithful way this process can; restore() undoes it. */
function refuseWrites(dir: string): { how: string; restore(): void } {
  if (process.getuid?.() !== 0) {
    chmodSync(dir, 0o555);
    chmodSync(join(dir, '.tmp'), 0o555);
    return {
      how: 'chmod a-w (EACCES)',
      restore: () => {
        chmodSync(join(dir, '.tmp'), 0o755);
        chmodSync(dir, 0o755);
      },
    };
  }
  if (MOUNTABLE) {
    execFileSync('mount', ['--bind', dir, dir]);
    execFileSync('mount', ['-o', 'remount,bind,ro', dir]);
    return { how: 'read-only bind mount (EROFS)', restore: () => execFileSync('umount', [dir]) };
  }
  renameSync(dir, `${dir}.away`);
  writeFileSync(dir, 'not a directory');
  return {
    how: 'directory swapped for a file (ENOTDIR)',
    restore: () => {
      rmSync(dir);
      renameSync(`${dir}.away`, dir);
    },
  };
}

test(`a CAS that turns read-only: readiness 503 naming cas, writes 503 coded, recovery without restart (${testBackend()})`, async () => {
  const h = await harness();
  let restore: (() => void) | undefined;
  try {
    await h.ready('after start');
    assert.equal((await h.post('/faults/cas', { text: 'before' })).status, 200);

    const refused = refuseWrites(join(h.home, 'cas'));
    restore = refused.restore;
    // The probe alone finds it: no request has failed yet.
    const down = await waitFor(
      () => `readiness to fail after ${refused.how}`,
      async () => {
        const ready = await h.readiness();
        return ready.status === 503 ? ready : undefined;
      },
      { deadlineMs: WAIT_MS },
    );
    assert.deepEqual(down.failing, ['cas'], `only the CAS fails (${refused.how}): ${JSON.stringify(down)}`);
    assert.equal(down.checks.database, 'ok');
    assert.match(down.checks.cas!, /read-only|cannot be written/);

    for (const text of ['during 1', 'during 2']) {
      const write = await h.post('/faults/cas', { text });
      assert.equal(write.status, 503, `a write answers 503, not 500: ${JSON.stringify(write.body)}`);
      assert.equal(write.body.code, Errors.storageUnavailable.code);
      assert.equal(write.body.store, 'cas');
    }
    assert.equal((await fetch(`${h.server.url}/healthz`)).status, 200, 'liveness stays up');
    assert.equal(faultLines(h.logs, 'cas').length, 1, 'one log line for the transition, not one per failure');
    assert.ok(faultLines(h.logs, 'cas')[0]!.code, 'the line names the error code');

    refused.restore();
    restore = undefined;
    await h.ready('to recover');
    assert.equal((await h.post('/faults/cas', { text: 'after' })).status, 200);
    assert.ok(h.logs.some((line) => /storage cas accepts writes again/.test(String(line.msg))));
  } finally {
    restore?.();
    await h.close();
  }
});

test(`a database that turns read-only: readiness 503 naming database, writes 503 coded, recovery without restart (${testBackend()})`, async () => {
  const h = await harness();
  const admin =
    testBackend() === 'postgres'
      ? new pg.Client({ connectionString: process.env.STELLA_TEST_PG_ADMIN_URL })
      : undefined;
  await admin?.connect();
  const name = h.databaseUrl ? new URL(h.databaseUrl).pathname.slice(1) : '';
  const setReadOnly = async (on: boolean) => {
    if (admin) {
      await admin.query(`alter database ${name} set default_transaction_read_only = ${on ? 'on' : 'off'}`);
      // Settings of a database reach new sessions only: end the app's, and its pool reconnects.
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name]);
    } else {
      // The embedded database is one session: setting it there is what a read-only database looks like to it.
      await h.server.ctx.db.query(`set default_transaction_read_only = ${on ? 'on' : 'off'}`);
    }
  };
  try {
    await h.ready('after start');
    assert.equal((await h.post('/faults/db', { id: 1, text: 'before' })).status, 200);

    await setReadOnly(true);
    let last: unknown;
    const down = await waitFor(
      () => `readiness to fail as read-only (last answer ${JSON.stringify(last)})`,
      async () => {
        const ready = await h.readiness();
        last = ready;
        // On PostgreSQL a probe may first meet its connection being ended (57P01): failing, but not yet read-only.
        return ready.status === 503 && /read-only/.test(ready.checks.database ?? '') ? ready : undefined;
      },
      { deadlineMs: WAIT_MS },
    );
    assert.deepEqual(down.failing, ['database'], JSON.stringify(down));
    const write = await waitFor(
      () => 'a write to answer 503',
      async () => {
        const answer = await h.post('/faults/db', { id: 2, text: 'during' });
        // A PostgreSQL connection ended by the admin may fail one request differently; the next one is read-only.
        return answer.status === 503 ? answer : undefined;
      },
      { deadlineMs: WAIT_MS },
    );
    assert.equal(write.body.code, Errors.storageUnavailable.code, JSON.stringify(write.body));
    assert.equal(write.body.store, 'database');
    const read = await fetch(`${h.server.url}/faults/db/1`);
    assert.equal(read.status, 200, 'reads go on');
    assert.deepEqual(await read.json(), { v: 'before' });
    assert.equal(faultLines(h.logs, 'database').length, 1, 'one log line for the transition');

    await setReadOnly(false);
    await h.ready('to recover');
    assert.equal((await h.post('/faults/db', { id: 2, text: 'after' })).status, 200);
  } finally {
    await setReadOnly(false).catch(() => {});
    await admin?.end();
    await h.close();
  }
});

test('an embedded database on a full disk: no hang, health alive, 503s coded, and it reopens once space is freed', {
  skip:
    (testBackend() !== 'pglite' && 'the embedded database only; a PostgreSQL server runs on its own disk') ||
    (!MOUNTABLE && 'needs root with the privilege to mount a small tmpfs to fill'),
}, async () => {
  let mounted: string | undefined;
  let filler: string | undefined;
  const h = await harness((home) => {
    mounted = join(home, 'pg');
    mkdirSync(mounted);
    // Room for the database and a few WAL segments; the filler takes the rest.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512m,mode=0700', 'tmpfs', mounted]);
  }).catch((error: unknown) => {
    if (mounted) execFileSync('umount', [mounted]);
    throw error;
  });
  try {
    filler = join(mounted!, 'filler');
    const fd = openSync(filler, 'w');
    const block = Buffer.alloc(64 * 1024);
    try {
      for (;;) writeSync(fd, block);
    } catch (error) {
      assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
    } finally {
      closeSync(fd);
    }

    // In-place updates never need a new heap page, so the write that fails is PGlite's WAL segment,
    // which it answers with a PANIC; before this change the next statement hung the event loop.
    let failure: { code?: string; details?: { kind?: string } } | undefined;
    for (let i = 0; i < 200_000 && !failure; i++) {
      await h.server.ctx.db
        .query('update fault_rows set v = repeat($1, 1000) where id = 0', [String(i % 10)])
        .catch((error: { code?: string; details?: { kind?: string } }) => {
          failure = error;
        });
    }
    assert.equal(failure?.code, Errors.storageUnavailable.code, `the disk filled up: ${JSON.stringify(failure)}`);

    assert.equal((await fetch(`${h.server.url}/healthz`)).status, 200, 'the event loop is alive');
    const write = await h.post('/faults/db', { id: 3, text: 'during' });
    assert.equal(write.status, 503, JSON.stringify(write.body));
    assert.equal(write.body.code, Errors.storageUnavailable.code);
    const down = await h.readiness();
    assert.equal(down.status, 503);
    assert.ok(down.failing.includes('database'), JSON.stringify(down));
    assert.match(down.checks.database!, /stopped after PANIC/, 'the WAL write failed with a PANIC, as in the issue');

    rmSync(filler);
    await waitFor(
      () => 'the database to reopen and readiness to recover',
      async () => ((await h.readiness()).status === 200 ? true : undefined),
      { deadlineMs: WAIT_MS },
    );
    assert.equal((await h.post('/faults/db', { id: 3, text: 'after' })).status, 200);
    const kept = await fetch(`${h.server.url}/faults/db/3`);
    assert.deepEqual(await kept.json(), { v: 'after' });
  } finally {
    if (filler) rmSync(filler, { force: true });
    await h.close();
    if (mounted) execFileSync('umount', [mounted]);
  }
});
