// Shared by the kit's throwaway servers: find a Debian binary, and start on a free loopback port,
// trying again when another process took the port between the probe and the bind.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { freePort } from './postgres.ts';

const SYSTEM_DIRS = ['/usr/sbin', '/usr/bin', '/usr/local/bin'];

export function findExecutable(name: string, installHint: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter).concat(SYSTEM_DIRS)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`${name} not found: install it with \`${installHint}\``);
}

/** Another process can take the free port between our probe and the server binding it. */
const PORT_ATTEMPTS = 3;

/** Runs `start` on `pinned`, or on a fresh free port up to three times while the port is taken. */
export async function onFreePort<T>(
  name: string,
  pinned: number | undefined,
  start: (port: number) => Promise<T>,
): Promise<T> {
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < (pinned === undefined ? PORT_ATTEMPTS : 1); attempt++) {
    const port = pinned ?? (await freePort());
    try {
      return await start(port);
    } catch (error) {
      lastError = error as Error;
      if (!/address already in use/i.test(lastError.message)) throw lastError;
    }
  }
  throw lastError ?? new Error(`${name} did not start`);
}
