// Shared by the kit's throwaway servers: find a Debian binary, run it as a child that dies with the
// test, and start on a free loopback port, trying again when another process took the port between
// the probe and the bind.
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { freePort } from './postgres.ts';
import { installLine, locateExecutable } from './prerequisites.ts';

/** Fails at once, naming the Debian package, when the program is missing: no test waits on it. */
export function findExecutable(name: string): string {
  const found = locateExecutable(name);
  if (found === undefined) throw new Error(`${name} not found: install it with \`${installLine([name])}\``);
  return found;
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

/** A Debian server binary run by a test, in its own temporary directory. */
export interface ChildServer {
  /** The last 4,000 characters of its stdout and stderr. */
  log(): string;
  /** Stops it (SIGTERM then SIGKILL after 3 s when `graceful`, else SIGKILL) and removes its directory. */
  stop(): Promise<void>;
}

export interface ChildServerOptions {
  name: string;
  bin: string;
  args: readonly string[];
  /** Its temporary directory, removed on stop. */
  dir: string;
  /** Probed every 25 ms until true, for at most 10 s. */
  ready: (log: () => string) => Promise<boolean>;
  /** What `ready` waits for, for the error when it never comes. */
  readyWhat: string;
  /** Let it shut down cleanly (it has state worth flushing) instead of killing it outright. */
  graceful?: boolean;
}

/** The servers start in tens of ms; 10 s covers a loaded machine without hanging a suite. */
const START_DEADLINE_MS = 10_000;
const POLL_INTERVAL_MS = 25;

/**
 * Starts a server process and waits until `ready`. It dies with the test process: setpriv (util-linux)
 * has the kernel kill it even when the test runner is SIGKILLed or times out and no exit handler runs,
 * and an exit handler covers a test that forgets stop().
 */
export async function startChildServer(options: ChildServerOptions): Promise<ChildServer> {
  const child: ChildProcess = spawn(
    findExecutable('setpriv'),
    ['--pdeathsig', 'SIGKILL', '--', options.bin, ...options.args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  const keep = (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(options.graceful ? 'SIGTERM' : 'SIGKILL');
      const timer = options.graceful ? setTimeout(() => child.kill('SIGKILL'), 3000) : undefined;
      await exited;
      clearTimeout(timer);
    }
    rmSync(options.dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + START_DEADLINE_MS;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`${options.name} exited during start-up:\n${log}`);
    }
    if (await options.ready(() => log)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${options.name} did not ${options.readyWhat} within ${START_DEADLINE_MS} ms:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
  return { log: () => log, stop };
}
