// $STELLA_HOME holds the embedded database, CAS, keys and credentials: private to its owner, and
// used by one embedded server at a time (two PGlite processes on one data directory corrupt it).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function prepareHome(home: string): void {
  mkdirSync(home, { recursive: true, mode: 0o700 });
}

/** Takes $STELLA_HOME/serve.lock; refuses when a live process holds it. Returns the release function. */
export function lockHome(home: string): () => void {
  const path = join(home, 'serve.lock');
  try {
    writeFileSync(path, String(process.pid), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const holder = Number(readFileSync(path, 'utf8'));
    if (holder && isAlive(holder)) {
      throw new Error(
        `another stella server (pid ${holder}) is using ${home} with the embedded database; stop it, use a different STELLA_HOME, or run several processes on PostgreSQL (STELLA_DATABASE_URL)`,
      );
    }
    // A stale lock from a process that crashed: take it over.
    writeFileSync(path, String(process.pid), { mode: 0o600 });
  }
  return () => rmSync(path, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
