// A throwaway redis-server on loopback with no persistence, in a temporary directory, for tests of the
// environment rate limiter and anything else that needs a real Redis/Valkey.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable, onFreePort } from './binaries.ts';

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** redis-server starts in a few ms; 10 s covers a loaded CI machine without hanging a suite forever. */
const START_DEADLINE_MS = 10_000;
/** Between PING attempts: short, because start-up usually finishes within the first one or two. */
const POLL_INTERVAL_MS = 25;

export function findRedisServer(): string {
  return findExecutable('redis-server', 'apt-get install -y redis-server');
}

/**
 * Starts redis-server bound to 127.0.0.1. `port` pins the port, for tests that restart a server where
 * clients expect it; without it a free port is chosen.
 */
export async function startRedis(options: { port?: number } = {}): Promise<RedisServer> {
  const bin = findRedisServer();
  return onFreePort('redis-server', options.port, (port) => startOn(bin, port));
}

async function startOn(bin: string, port: number): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'stella-redis-'));
  const child: ChildProcess = spawn(
    bin,
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const keep = (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL'); // nothing to persist, so no reason to wait for a graceful shutdown
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + START_DEADLINE_MS;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`redis-server exited during start-up:\n${log}`);
    }
    if (await answersPing(port)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not answer PING within ${START_DEADLINE_MS} ms:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
  return { url: `redis://127.0.0.1:${port}`, port, stop };
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    // A listening but wedged server must not stall the poll loop past its deadline.
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
