// Stopping `npm start` the ways it is stopped in practice (issue 10): Ctrl-C in a terminal (SIGINT
// to the whole foreground process group), a supervisor's SIGTERM to the npm process alone, and
// SIGINT to the npm process alone. Each must answer the request in flight, exit 0, free the port and
// leave no process behind; a second Ctrl-C during the drain still exits at once, with status 1.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort, scratchDir, waitFor } from '@stella/testkit';
import { loadServerConfig, startServer } from '../../src/index.ts';

const repoRoot = new URL('../../../../', import.meta.url).pathname;
// Start-up on a prepared home takes about two seconds, more with other test files running beside.
const READY_DEADLINE_MS = 60_000;
// A drain with nothing left in flight takes well under a second; this only bounds a hang.
const EXIT_DEADLINE_MS = 15_000;
const STEP_DEADLINE_MS = 10_000;
// The server counts repeats of a stop signal within 500 ms as the same stop (npm's forwarded copy of
// a Ctrl-C); a deliberate second Ctrl-C must come later than that.
const DELIBERATE_REPEAT_PAUSE_MS = 700;

interface GroupMember {
  pid: number;
  ppid: number;
  state: string;
  command: string;
}

/** Every process whose process group is `pgid`, read from /proc (zombies included). */
function processGroup(pgid: number): GroupMember[] {
  const members: GroupMember[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    let command: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      continue; // it exited while we looked
    }
    // Fields after the parenthesised command name: state, ppid, pgrp, ...
    const [state = '', ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid) members.push({ pid: Number(entry), ppid: Number(ppid), state, command });
  }
  return members;
}

async function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

interface NpmStart {
  npm: ChildProcess;
  /** npm's pid, which is also its process group's id: it was started as a session leader. */
  pgid: number;
  port: number;
  home: string;
  server: GroupMember;
  /** Client sockets this test opened to the server. */
  sockets: Socket[];
  output(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `npm start` as a user or a supervisor runs it: in its own session and process group. */
async function npmStart(template: string, started: Omit<NpmStart, 'server'>[]): Promise<NpmStart> {
  const port = await freePort();
  const home = scratchDir('stella-stop-signals-');
  cpSync(template, home, { recursive: true });
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('STELLA_')));
  const npm = spawn('npm', ['start'], {
    cwd: repoRoot,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...inherited,
      STELLA_HOME: home,
      STELLA_SERVER_HOST: '127.0.0.1',
      STELLA_SERVER_PORT: String(port),
      STELLA_LOG_LEVEL: 'warn',
      // The drain is bounded by this grace period; the default (10 s) would let a held request end a
      // test's drain by itself instead of by what the test does.
      STELLA_SERVER_SHUTDOWN_GRACE_MS: '60000',
      npm_config_update_notifier: 'false',
    },
  });
  let output = '';
  npm.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  npm.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  let exited = false;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    npm.once('error', reject);
    npm.once('exit', (code, signal) => {
      exited = true;
      resolve({ code, signal });
    });
  });
  exit.catch(() => {}); // observed by the test; an early rejection must not be unhandled meanwhile
  assert.ok(npm.pid, 'npm started');
  const handle = { npm, pgid: npm.pid, port, home, sockets: [] as Socket[], output: () => output, exit };
  started.push(handle);

  await waitFor(
    () => `"listening on" from npm start:\n${output}`,
    () => exited || /listening on http:/.test(output),
    { deadlineMs: READY_DEADLINE_MS },
  );
  assert.equal(exited, false, `npm start exited before listening:\n${output}`);
  assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);

  const server = processGroup(handle.pgid).find((p) => p.command.includes('bin.ts serve'));
  assert.ok(server, `the server process is in npm's group: ${JSON.stringify(processGroup(handle.pgid))}`);
  // With `exec` in the script no shell sits between them, so npm's forwarded signal reaches the server.
  assert.equal(server.ppid, handle.pgid, `the server is npm's own child: ${JSON.stringify(processGroup(handle.pgid))}`);
  return { ...handle, server };
}

/** A request the server has accepted (it answered 100 Continue) whose body is still to come. */
async function requestInFlight(run: NpmStart): Promise<{ received(): string; finish(): void }> {
  const body = 'grant_type=client_credentials&client_id=nobody&client_secret=nothing';
  const socket = connect(run.port, '127.0.0.1');
  run.sockets.push(socket);
  let received = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => {
    received += chunk;
  });
  socket.on('error', () => {}); // asserted through what was received
  socket.write(
    'POST /token HTTP/1.1\r\nHost: stella\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
      `Content-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
  );
  await waitFor(
    () => `100 Continue (got ${JSON.stringify(received)})`,
    () => received.includes('100 Continue'),
    { deadlineMs: STEP_DEADLINE_MS },
  );
  return { received: () => received, finish: () => socket.write(body) };
}

async function stoppedWithin(run: NpmStart): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`npm start still running ${EXIT_DEADLINE_MS} ms after the signal:\n${run.output()}`)),
      EXIT_DEADLINE_MS,
    );
  });
  try {
    return await Promise.race([run.exit, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Checked the moment npm exits: by then the server must be gone and its port free. */
async function assertNothingLeft(run: NpmStart): Promise<void> {
  const left = processGroup(run.pgid);
  assert.deepEqual(left, [], 'no process of the group is left');
  assert.throws(() => process.kill(run.server.pid, 0), { code: 'ESRCH' }, 'the server process is gone');
  assert.equal(await canListen(run.port), true, `port ${run.port} is free`);
}

/** The drain ran to its end: the last shutdown step releases the embedded home's lock. */
function assertDrained(run: NpmStart): void {
  assert.match(run.output(), /\nstopped\n/);
  assert.doesNotMatch(run.output(), /again: exiting without waiting/);
  assert.equal(existsSync(join(run.home, 'serve.lock')), false, 'serve.lock is released');
}

function cleanUp(runs: Omit<NpmStart, 'server'>[]): void {
  for (const run of runs) {
    for (const socket of run.sockets) socket.destroy();
    if (processGroup(run.pgid).length === 0) continue;
    try {
      process.kill(-run.pgid, 'SIGKILL');
    } catch {
      // it ended between the look and the kill
    }
  }
}

const stops: { how: string; signal: NodeJS.Signals; send(run: NpmStart): void }[] = [
  {
    how: 'Ctrl-C in a terminal (SIGINT to the whole process group)',
    signal: 'SIGINT',
    send: (run) => process.kill(-run.pgid, 'SIGINT'),
  },
  {
    how: "a supervisor's SIGTERM to the npm process alone",
    signal: 'SIGTERM',
    send: (run) => process.kill(run.pgid, 'SIGTERM'),
  },
  {
    how: 'SIGINT to the npm process alone',
    signal: 'SIGINT',
    send: (run) => process.kill(run.pgid, 'SIGINT'),
  },
];

describe('stopping npm start', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  // One home initialised here (database, migrations, keys) and copied for each run: a fresh home
  // would spend most of each case creating the embedded database.
  const template = scratchDir('stella-stop-signals-template-');
  before(async () => {
    const env = { STELLA_HOME: template, STELLA_SERVER_PORT: '0', STELLA_LOG_LEVEL: 'silent' };
    const server = await startServer({ config: loadServerConfig({ env }).config });
    await server.close();
  });

  for (const stop of stops) {
    test(`${stop.how}: answers the request in flight, exits 0, frees the port, leaves no process`, async () => {
      const started: Omit<NpmStart, 'server'>[] = [];
      try {
        const run = await npmStart(template, started);
        const request = await requestInFlight(run);
        stop.send(run);
        await waitFor(
          () => `the server to start draining:\n${run.output()}`,
          () => run.output().includes(`${stop.signal}: draining`),
          { deadlineMs: STEP_DEADLINE_MS },
        );
        request.finish();
        await waitFor(
          () => `the answer to the request in flight (got ${JSON.stringify(request.received())})`,
          () => /HTTP\/1\.1 [2-5]\d\d /.test(request.received().replace('HTTP/1.1 100 Continue', '')),
          { deadlineMs: STEP_DEADLINE_MS },
        );

        const status = await stoppedWithin(run);
        await assertNothingLeft(run);
        assert.deepEqual(status, { code: 0, signal: null }, `npm start's exit status:\n${run.output()}`);
        assertDrained(run);
      } finally {
        cleanUp(started);
      }
    });
  }

  test('a second Ctrl-C during the drain exits at once with status 1, freeing the port', async () => {
    const started: Omit<NpmStart, 'server'>[] = [];
    try {
      const run = await npmStart(template, started);
      await requestInFlight(run);
      process.kill(-run.pgid, 'SIGINT');
      await waitFor(
        () => `the server to start draining:\n${run.output()}`,
        () => run.output().includes('SIGINT: draining'),
        { deadlineMs: STEP_DEADLINE_MS },
      );
      // A timed pause, not a wait for a condition: the second press must come after the window in
      // which the server takes a repeat for npm's copy of the first.
      await delay(DELIBERATE_REPEAT_PAUSE_MS);
      assert.doesNotMatch(run.output(), /\nstopped\n/, 'the held request keeps the drain going');
      process.kill(-run.pgid, 'SIGINT');

      const status = await stoppedWithin(run);
      await assertNothingLeft(run);
      assert.deepEqual(status, { code: 1, signal: null }, `npm start's exit status:\n${run.output()}`);
      assert.match(run.output(), /SIGINT again: exiting without waiting/);
    } finally {
      cleanUp(started);
    }
  });
});
