// $STELLA_HOME/serve.lock: the embedded (PGlite) database of a home is opened by one process at a time,
// the server or an offline import. A lock left by a process that died is taken over.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Takes the home's serve.lock and returns its release. When a live process holds it, throws what
 * refuse(pid) returns: each caller names its own remedy.
 */
export function lockHome(home: string, refuse: (holderPid: number) => Error): () => void {
  const path = join(home, 'serve.lock');
  try {
    writeFileSync(path, String(process.pid), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const holder = Number(readFileSync(path, 'utf8'));
    if (holder && isProcessRunning(holder)) throw refuse(holder);
    // A stale lock from a process that crashed: take it over.
    writeFileSync(path, String(process.pid), { mode: 0o600 });
  }
  return () => rmSync(path, { force: true });
}

/** Whether a process with this pid runs on this host (under any user). */
export function isProcessRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
