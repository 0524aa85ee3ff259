// $STELLA_HOME holds the embedded database, CAS, keys and credentials: private to its owner, and
// used by one embedded server at a time (two PGlite processes on one data directory corrupt it).
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, realpathSync } from 'node:fs';
import { join, relative } from 'node:path';
import { defineError, ExitCode, StellaError } from '@stella/core';
import { lockHome as lockHomeFile } from '@stella/platform';

export const HomeErrors = {
  unsafe: defineError({
    code: 'ERR_HOME_UNSAFE',
    status: 500,
    exit: ExitCode.usage,
    title: '$STELLA_HOME cannot be made private to this user',
    hint: 'Run stella as the user owning $STELLA_HOME (or chown -R it to that user), or point STELLA_HOME at a directory of your own; the message names the path.',
  }),
} as const;

export interface HomeChange {
  /** Relative to $STELLA_HOME; '.' is the directory itself. */
  path: string;
  from: number;
  to: number;
}

export interface HomeReport {
  changed: HomeChange[];
}

export interface HomeLog {
  warn(details: Record<string, unknown>, message: string): void;
}

/** Paths listed in the log line; the count covers the rest. */
const LOGGED_CHANGES = 20;

/**
 * Runs before anything is written under $STELLA_HOME, in every target: sets the process umask to 077,
 * creates the directory 0700, and tightens what a looser umask or an older version left (directories
 * to 0700, files to 0600), logging what changed. Refuses with ERR_HOME_UNSAFE what it cannot tighten.
 */
export function prepareHome(home: string, log?: HomeLog): HomeReport {
  restrictUmask();
  mkdirSync(home, { recursive: true, mode: 0o700 });
  return tightenHome(home, home, log);
}

/**
 * Tightens the embedded database directory once PGlite opened it: a new data directory is unpacked
 * from PGlite's template with explicit 0666/0644 modes the umask does not reach. Files PGlite creates
 * later get PostgreSQL's 0600 under the umask.
 */
export function tightenDatabaseFiles(home: string, log?: HomeLog): HomeReport {
  return tightenHome(home, join(home, 'pg'), log);
}

function restrictUmask(): void {
  try {
    process.umask(0o077);
  } catch (error) {
    // Worker threads cannot change the umask; the process that started them already did.
    if ((error as NodeJS.ErrnoException).code !== 'ERR_WORKER_UNSUPPORTED_OPERATION') throw error;
  }
}

function tightenHome(home: string, root: string, log: HomeLog | undefined): HomeReport {
  const changed: HomeChange[] = [];
  // Windows has no POSIX modes or owners to tighten; its ACLs are the operator's.
  if (process.platform !== 'win32' && existsSync(root)) {
    // $STELLA_HOME may be a symbolic link to the real directory: walk what it points at.
    const realHome = realpathSync(home);
    const realRoot = realpathSync(root);
    const uid = process.getuid?.();
    const owner = lstatSync(realHome).uid;
    if (uid !== undefined && owner !== uid) {
      throw new StellaError(
        HomeErrors.unsafe,
        `${home} belongs to uid ${owner}, not to this process (uid ${uid}): its owner could read the keys and the database; chown it to uid ${uid} or point STELLA_HOME at a directory of your own`,
      );
    }
    walk(realHome, realRoot, uid, changed);
  }
  if (changed.length > 0) {
    const message = `tightened permissions under ${home}: ${changed.length} ${changed.length === 1 ? 'entry' : 'entries'} could be read or changed by other users`;
    const details = {
      home,
      changed: changed.slice(0, LOGGED_CHANGES).map((c) => `${c.path} ${octal(c.from)}->${octal(c.to)}`),
      more: Math.max(0, changed.length - LOGGED_CHANGES),
    };
    if (log) log.warn(details, message);
    else process.emitWarning(`${message}: ${details.changed.join(', ')}`, { code: 'STELLA_HOME_TIGHTENED' });
  }
  return { changed };
}

/** Depth-first without following symbolic links: a link is neither changed nor entered. */
function walk(home: string, path: string, uid: number | undefined, changed: HomeChange[]): void {
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // removed while we walked
    throw error;
  }
  if (stat.isSymbolicLink()) return;
  const isDir = stat.isDirectory();
  const mode = stat.mode & 0o7777;
  const wanted = isDir ? 0o700 : 0o600;
  // Group and other bits, and setuid/setgid/sticky, go; an owner-only mode (0400, 0500) is left alone.
  if ((mode & 0o7077) !== 0) {
    const where = relative(home, path) || '.';
    if (uid !== undefined && stat.uid !== uid) {
      throw new StellaError(
        HomeErrors.unsafe,
        `${path} has mode ${octal(mode)} and belongs to uid ${stat.uid}, not to this process (uid ${uid}), so it cannot be made private; chown it to uid ${uid} or use another STELLA_HOME`,
      );
    }
    try {
      chmodSync(path, wanted);
    } catch (error) {
      throw new StellaError(
        HomeErrors.unsafe,
        `cannot make ${path} private (chmod ${octal(wanted)}): ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    changed.push({ path: where, from: mode, to: wanted });
  }
  if (isDir) for (const name of readdirSync(path)) walk(home, join(path, name), uid, changed);
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

/** Takes $STELLA_HOME/serve.lock; refuses when a live process holds it. Returns the release function. */
export function lockHome(home: string): () => void {
  return lockHomeFile(
    home,
    (holder) =>
      new Error(
        `another stella server (pid ${holder}) is using ${home} with the embedded database; stop it, use a different STELLA_HOME, or run several processes on PostgreSQL (STELLA_DATABASE_URL)`,
      ),
  );
}
