// Embedded backend: PGlite in this process, data in $STELLA_HOME/pg. PGlite's default user is a
// superuser, which bypasses row-level security, so the session switches to a non-superuser role.
//
// A PANIC (seen: disk full while PGlite creates a WAL segment) leaves the instance unusable, and the
// next statement sent to it spins the event loop forever, health endpoints included. So after a PANIC
// nothing more reaches that instance: every call fails at once with ERR_STORAGE_UNAVAILABLE, and
// probeWrite() (readiness) opens a fresh instance on the same directory, which replays the WAL, once
// the directory is writable and has room again. The dead instance is not closed (closing would send
// it a statement): its files are released and it is dropped.
//
// Cancellation: a PGlite statement runs synchronously on the event loop and cannot be interrupted
// (statement_timeout is ignored), so a cancelled transaction stops before its next statement and
// rolls back; the statement running when the signal fires finishes first.
import { mkdirSync, statfsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { Errors, StellaError } from '@stella/core';
import { CAPABILITIES, type Db, type Queryable, type QueryResult, type TransactionOptions, type Tx } from './port.ts';
import { storageProbe } from './probe.ts';
import { currentWork, throwIfCancelled } from './work.ts';

export interface PgliteOptions {
  /** Directory for the data; undefined keeps the database in memory (tests). */
  dataDir?: string;
  appRole: string;
}

// Reopening replays the WAL and ends with a checkpoint, which writes; a WAL segment is 16 MiB. With
// less room than this the reopen would likely PANIC again, and could spin like the first one did.
const MIN_FREE_BYTES_TO_REOPEN = 64 * 1024 * 1024;
// Severities after which PostgreSQL ends the session (FATAL) or the whole server (PANIC).
const FATAL_SEVERITIES = new Set(['PANIC', 'FATAL']);

export async function openPglite(options: PgliteOptions): Promise<Db> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const state: PgliteState = { options, pg: await openInstance(options), broken: undefined, closed: false };
  refuseWhenBroken(state, state.pg);
  const probe = storageProbe();

  const db: Db = {
    backend: 'pglite',
    capabilities: CAPABILITIES.pglite,
    query<T>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
      throwIfCancelled(currentWork()?.signal);
      return guarded(state, (instance) => queryable(instance).query<T>(text, params));
    },
    transaction: <T>(fn: (tx: Tx) => Promise<T>, txOptions: TransactionOptions = {}) =>
      runTransaction(state, fn, txOptions),
    queueAdapter() {
      return { executeSql: (text: string, values?: unknown[]) => executeQueueSql(state, text, values) };
    },
    async ping() {
      await guarded(state, (instance) => instance.query('select 1'));
    },
    async probeWrite() {
      if (state.closed) throw new Error('PGlite is closed');
      await reopen(state);
      await db.transaction(probe).catch((error: unknown) => {
        if ((error as { code?: string }).code !== '23505') throw error;
        return db.transaction(probe);
      });
    },
    async close() {
      state.closed = true;
      // A stopped instance would be sent a statement by close(); it holds nothing worth flushing.
      if (state.broken) await releaseFiles(state.pg);
      else if (!state.pg.closed) await state.pg.close();
    },
  };
  return db;
}

/** The instance in use, replaced by reopen() after a PANIC; `broken` is the first fatal error, until then. */
interface PgliteState {
  options: PgliteOptions;
  pg: PGlite;
  broken: StellaError | undefined;
  closed: boolean;
}

/** Stops every later call from reaching the instance that failed; the first fatal error is kept. */
function checkFatal(state: PgliteState, error: unknown, instance: PGlite): void {
  const severity = (error as { severity?: string } | undefined)?.severity;
  if (instance !== state.pg || state.broken || !severity || !FATAL_SEVERITIES.has(severity)) return;
  const where = state.options.dataDir ?? 'memory';
  state.broken = new StellaError(
    Errors.storageUnavailable,
    `embedded database stopped after ${severity}: ${(error as Error).message} (${where}); it reopens once the directory is writable and has room again`,
    { cause: error, details: { store: 'database', kind: 'stopped', path: where } },
  );
}

function refuseWhenBroken(state: PgliteState, instance: PGlite): void {
  // The only path by which any statement reaches PostgreSQL inside PGlite.
  const send = instance.execProtocolRawSync.bind(instance);
  instance.execProtocolRawSync = (message: Uint8Array) => {
    if (instance !== state.pg) throw new Error('this PGlite instance was replaced after a PANIC');
    if (state.broken) throw state.broken;
    return send(message);
  };
}

/** Runs a call against the current instance, stopping the instance if it answered with a PANIC. */
async function guarded<T>(state: PgliteState, call: (instance: PGlite) => Promise<T>): Promise<T> {
  if (state.closed) throw new Error('PGlite is closed');
  if (state.broken) throw state.broken;
  const instance = state.pg;
  try {
    return await call(instance);
  } catch (error) {
    checkFatal(state, error, instance);
    throw error;
  }
}

async function reopen(state: PgliteState): Promise<void> {
  const current = state.broken;
  if (!current) return;
  if (!state.options.dataDir) throw current;
  await assertRoomToReopen(state.options.dataDir, current);
  await releaseFiles(state.pg);
  const fresh = await openInstance(state.options);
  state.pg = fresh;
  state.broken = undefined;
  refuseWhenBroken(state, fresh);
}

function runTransaction<T>(state: PgliteState, fn: (tx: Tx) => Promise<T>, txOptions: TransactionOptions): Promise<T> {
  const signal = txOptions.signal ?? currentWork()?.signal;
  throwIfCancelled(signal);
  return guarded(state, (instance) =>
    instance.transaction(async (transaction) => {
      // The transaction may have waited for the single connection: a signal that fired meanwhile ends it here.
      throwIfCancelled(signal);
      if (txOptions.tenant !== undefined) {
        await transaction.query(`select set_config('app.tenant', $1, true)`, [txOptions.tenant]);
      }
      const tx = txHandle(transaction, signal, (error) => checkFatal(state, error, instance));
      const value = await fn(tx);
      // Nothing commits after the deadline: throwing here rolls back.
      throwIfCancelled(signal);
      return value;
    }),
  );
}

function executeQueueSql(state: PgliteState, text: string, values?: unknown[]) {
  return guarded(state, async (instance) => {
    try {
      if (values?.length) return await instance.query(text, values);
      // pg-boss sends parameterless multi-statement blocks; only exec() accepts those.
      const results = await instance.exec(text);
      return { rows: results.flatMap((r) => r.rows ?? []) };
    } catch (error) {
      checkFatal(state, error, instance);
      // A statement failing inside one of those BEGIN … COMMIT blocks leaves the only connection
      // in an aborted transaction and every later query would fail; a pool would drop the
      // connection, here we roll back.
      if (!state.broken) await instance.exec('rollback').catch(() => {});
      throw error;
    }
  });
}

async function openInstance(options: PgliteOptions): Promise<PGlite> {
  const pg = await PGlite.create(options.dataDir ? { dataDir: options.dataDir } : {});
  await switchToAppRole(pg, options.appRole);
  return pg;
}

/** Closes the file descriptors a stopped instance holds in the data directory, without sending it anything. */
async function releaseFiles(instance: PGlite): Promise<void> {
  await instance.fs?.closeFs().catch(() => {});
}

/** Refuses to reopen on a directory that is still read-only or nearly full. */
async function assertRoomToReopen(dataDir: string, stopped: StellaError): Promise<void> {
  const marker = join(dataDir, `.stella-write-probe-${process.pid}`);
  try {
    await writeFile(marker, 'probe');
    await rm(marker, { force: true });
  } catch (error) {
    throw new StellaError(Errors.storageUnavailable, `${stopped.message}; ${dataDir} still refuses writes`, {
      cause: error,
      details: stopped.details,
    });
  }
  const { bavail, bsize } = statfsSync(dataDir);
  const free = bavail * bsize;
  if (free < MIN_FREE_BYTES_TO_REOPEN) {
    throw new StellaError(
      Errors.storageUnavailable,
      `${stopped.message}; only ${Math.floor(free / 1024 / 1024)} MiB free in ${dataDir}, reopening needs ${MIN_FREE_BYTES_TO_REOPEN / 1024 / 1024} MiB`,
      { cause: stopped.cause, details: { ...stopped.details, kind: 'disk-full' } },
    );
  }
}

function queryable(target: Pick<PGlite, 'query'> | Transaction): Queryable {
  return {
    async query<T>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
      const result = await target.query<T>(text, params as unknown[] | undefined);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
  };
}

function txHandle(transaction: Transaction, signal: AbortSignal | undefined, onError: (error: unknown) => void): Tx {
  const inner = queryable(transaction);
  return {
    async query<T>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
      throwIfCancelled(signal);
      try {
        return await inner.query<T>(text, params);
      } catch (error) {
        onError(error);
        throw error;
      }
    },
    async exec(sql: string) {
      throwIfCancelled(signal);
      try {
        await transaction.exec(sql);
      } catch (error) {
        onError(error);
        throw error;
      }
    },
  };
}

async function switchToAppRole(pg: PGlite, role: string): Promise<void> {
  const exists = await pg.query<{ n: number }>('select count(*)::int as n from pg_roles where rolname = $1', [role]);
  if (exists.rows[0]?.n === 0) await pg.exec(`create role ${role} nosuperuser nobypassrls nologin`);
  // PostgreSQL 15+ no longer lets every role create objects in schema public; pg-boss creates its own schema.
  const dbName = (await pg.query<{ d: string }>('select current_database() as d')).rows[0]!.d;
  await pg.exec(`grant all on schema public to ${role}; grant create on database "${dbName}" to ${role};`);
  await pg.exec(`set role ${role}`);
}
