// A throwaway nats-server with JetStream on loopback, its store in a temporary directory, for tests of
// fact-event delivery. Debian's nats-server (apt-get install nats-server) is looked up on PATH and /usr/sbin.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable, onFreePort } from './binaries.ts';

export interface NatsServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** nats-server starts in tens of ms; 10 s covers a loaded machine without hanging a suite. */
const START_DEADLINE_MS = 10_000;
const POLL_INTERVAL_MS = 25;

export function findNatsServer(): string {
  return findExecutable('nats-server', 'apt-get install -y nats-server');
}

export async function startNats(options: { port?: number } = {}): Promise<NatsServer> {
  const bin = findNatsServer();
  return onFreePort('nats-server', options.port, (port) => startOn(bin, port));
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
