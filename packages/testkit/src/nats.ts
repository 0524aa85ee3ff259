// A throwaway nats-server with JetStream on loopback, its store in a temporary directory, for tests of
// fact-event delivery. Debian's nats-server (apt-get install nats-server) is looked up on PATH and /usr/sbin.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './postgres.ts';

export interface NatsServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** nats-server starts in tens of ms; 10 s covers a loaded machine without hanging a suite. */
const START_DEADLINE_MS = 10_000;
const POLL_INTERVAL_MS = 25;
/** Another process can take the free port between our probe and nats binding it; try a new one. */
const PORT_ATTEMPTS = 3;

export function findNatsServer(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter).concat('/usr/sbin', '/usr/bin', '/usr/local/bin')) {
    if (!dir) continue;
    const candidate = join(dir, 'nats-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error('nats-server not found: install it with `apt-get install -y nats-server`');
}

export async function startNats(options: { port?: number } = {}): Promise<NatsServer> {
  const bin = findNatsServer();
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < (options.port === undefined ? PORT_ATTEMPTS : 1); attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await startOn(bin, port);
    } catch (error) {
      lastError = error as Error;
      if (!/address already in use/i.test(lastError.message)) throw lastError;
    }
  }
  throw lastError ?? new Error('nats-server did not start');
}

async function startOn(bin: string, port: number): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'stella-nats-'));
  const child: ChildProcess = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const keep = (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + START_DEADLINE_MS;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`nats-server exited during start-up:\n${log}`);
    }
    // JetStream is enabled before the client listener opens, so an INFO line means JetStream is ready.
    if (/Server is ready/.test(log) && (await sendsInfo(port))) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`nats-server did not become ready within ${START_DEADLINE_MS} ms:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
  return { url: `nats://127.0.0.1:${port}`, port, stop };
}

function sendsInfo(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('INFO '));
    });
  });
}
