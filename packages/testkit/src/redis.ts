// A throwaway redis-server on loopback with no persistence, in a temporary directory, for tests of the
// environment rate limiter and anything else that needs a real Redis/Valkey.
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable, onFreePort, startChildServer } from './binaries.ts';

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export function findRedisServer(): string {
  return findExecutable('redis-server');
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
  const { stop } = await startChildServer({
    name: 'redis-server',
    bin,
    args: ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir],
    dir,
    ready: () => answersPing(port),
    readyWhat: 'answer PING',
    // Nothing to persist, so no reason to wait for a graceful shutdown.
  });
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
