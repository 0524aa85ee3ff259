// A throwaway PostgreSQL cluster from the Debian binaries, in a temporary directory on loopback.
// initdb refuses to run as root, so as root the cluster runs as the `postgres` system user.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { installLine, locatePostgresBin } from './prerequisites.ts';

export interface PostgresCluster {
  /** Superuser URL, for creating roles and databases. */
  adminUrl: string;
  port: number;
  /** URL for a database as the non-superuser application role. */
  appUrl(database: string): string;
  stop(): Promise<void>;
}

export const APP_ROLE = 'stella_app';
const APP_PASSWORD = 'stella-test';

export function findPostgresBin(): string {
  const found = locatePostgresBin();
  if (!found)
    throw new Error(`PostgreSQL 15+ server binaries not found: install them with \`${installLine(['postgres'])}\``);
  return found;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function startPostgres(): Promise<PostgresCluster> {
  const bin = findPostgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'stella-pg-'));
  const dataDir = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) =>
    asRoot ? { cmd: 'runuser', args: ['-u', 'postgres', '--', cmd, ...args] } : { cmd, args };
  if (asRoot) {
    const ids = execFileSync('id', ['-u', 'postgres']).toString().trim();
    const gid = execFileSync('id', ['-g', 'postgres']).toString().trim();
    chownSync(dir, Number(ids), Number(gid));
  }
  const init = run(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  execFileSync(init.cmd, init.args, { stdio: 'pipe' });

  const port = await freePort();
  const start = run(join(bin, 'postgres'), [
    '-D',
    dataDir,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=300',
  ]);
  const child: ChildProcess = spawn(start.cmd, start.args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await waitUntilReady(adminUrl, child, () => stderr);

  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create role ${APP_ROLE} login nosuperuser nobypassrls password '${APP_PASSWORD}'`);
  await admin.end();

  return {
    adminUrl,
    port,
    appUrl: (database) => `postgres://${APP_ROLE}:${APP_PASSWORD}@127.0.0.1:${port}/${database}`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        // Signal the postmaster itself: runuser does not pass SIGINT on to its child.
        // SIGINT is PostgreSQL's fast shutdown: it disconnects clients and skips the checkpoint wait.
        const postmasterPid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
        process.kill(postmasterPid, 'SIGINT');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitUntilReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  // initdb + start takes ~1-3 s here; 30 s covers a loaded CI machine without hanging forever.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited during start-up:\n${log()}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => {});
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 30 s:\n${log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Creates a fresh database owned by the application role; returns its app-role URL and a dropper. */
export async function createDatabase(adminUrl: string, appUrl: (db: string) => string, name: string) {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name} owner ${APP_ROLE}`);
  } finally {
    await admin.end();
  }
  return {
    url: appUrl(name),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}
