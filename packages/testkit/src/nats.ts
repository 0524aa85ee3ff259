// A throwaway nats-server with JetStream on loopback, its store in a temporary directory, for tests of
// fact-event delivery. Debian's nats-server (apt-get install nats-server) is looked up on PATH and /usr/sbin.
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable, onFreePort, startChildServer } from './binaries.ts';

export interface NatsServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export function findNatsServer(): string {
  return findExecutable('nats-server');
}

export async function startNats(options: { port?: number } = {}): Promise<NatsServer> {
  const bin = findNatsServer();
  return onFreePort('nats-server', options.port, (port) => startOn(bin, port));
}

async function startOn(bin: string, port: number): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'stella-nats-'));
  const { stop } = await startChildServer({
    name: 'nats-server',
    bin,
    args: ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir],
    dir,
    // JetStream is enabled before the client listener opens, so an INFO line means JetStream is ready.
    ready: async (log) => /Server is ready/.test(log()) && (await sendsInfo(port)),
    readyWhat: 'become ready',
    graceful: true,
  });
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
