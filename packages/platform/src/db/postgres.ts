// Scaled-out backend: PostgreSQL 15+ through a `pg` pool. The URL names a non-superuser role, so the
// FORCE ROW LEVEL SECURITY policies apply to everything the application does.
//
// Cancellation: work with a deadline runs its transactions under `statement_timeout` (the time left),
// which the server enforces even while this process is busy; when the work's signal fires the
// statement running is cancelled with pg_cancel_backend from a separate connection (the pool may be
// exhausted), no further statement starts and nothing commits.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Errors, StellaError } from '@stella/core';
import pg from 'pg';
import { from as copyFromStdin } from 'pg-copy-streams';
import { CAPABILITIES, type Db, type QueryResult, type TransactionOptions, type Tx } from './port.ts';
import { storageProbe } from './probe.ts';
import { currentWork, throwIfCancelled, type Work } from './work.ts';

export interface PostgresOptions {
  url: string;
  poolSize: number;
}

// Bounds the side connection that carries a cancel request; a server this slow to accept one is
// unlikely to be running the statement much longer anyway.
const CANCEL_CONNECT_TIMEOUT_MS = 5000;

export async function openPostgres(options: PostgresOptions): Promise<Db> {
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize });
  // An idle client that loses its server emits 'error' on the pool; without a listener that kills the process.
  pool.on('error', () => {});
  await assertServerFits(pool);

  const probe = storageProbe();
  const db: Db = {
    backend: 'postgres',
    capabilities: CAPABILITIES.postgres,
    query: <T>(text: string, params?: readonly unknown[]) => poolQuery<T>(pool, options.url, text, params),
    transaction: <T>(fn: (tx: Tx) => Promise<T>, txOptions: TransactionOptions = {}) =>
      poolTransaction(pool, options.url, fn, txOptions),
    queueAdapter() {
      return {
        async executeSql(text: string, values?: unknown[]) {
          return pool.query(text, values);
        },
      };
    },
    async ping() {
      await pool.query('select 1');
    },
    async probeWrite() {
      await db.transaction(probe).catch((error: unknown) => {
        // Two processes creating the probe table at once: the loser sees a unique violation on the catalog.
        if ((error as { code?: string }).code !== '23505') throw error;
        return db.transaction(probe);
      });
    },
    async close() {
      await pool.end();
    },
  };
  return db;
}

/**
 * A client checked out of the pool, with an 'error' listener for as long as it is out. pg-pool only
 * listens for errors of idle clients; a checked-out client whose server connection ends (a restart,
 * a failover, pg_terminate_backend) emits 'error' besides failing its query, and without a listener
 * that 'error' is an uncaught exception that stops the whole server. A client that saw an error is
 * discarded on release instead of going back to the pool, and what its queries threw is reported as
 * the storage fault it is (ERR_STORAGE_UNAVAILABLE, 503): pg's own "Connection terminated
 * unexpectedly" carries no SQLSTATE by which a caller could tell.
 */
async function checkout(pool: pg.Pool): Promise<{
  client: pg.PoolClient;
  release(discard?: boolean): void;
  failure(error: unknown): unknown;
}> {
  const client = await pool.connect().catch((error: unknown) => {
    throw UNREACHABLE.has((error as { code?: string }).code ?? '') ? connectionLost(error) : error;
  });
  let lost = false;
  const onError = () => {
    lost = true;
  };
  client.on('error', onError);
  return {
    client,
    release(discard = false) {
      client.removeListener('error', onError);
      client.release(discard || lost);
    },
    failure: (error) => (lost ? connectionLost(error) : error),
  };
}

// A server that is down or cannot be reached is the same fault as a session it ended.
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT']);

function connectionLost(error: unknown): unknown {
  if (error instanceof StellaError) return error;
  return new StellaError(Errors.storageUnavailable, `database connection lost: ${(error as Error).message}`, {
    cause: error,
    details: { store: 'database', kind: 'stopped', code: (error as { code?: string }).code ?? 'connection-lost' },
  });
}

/** Refuses a server older than PostgreSQL 15, and a superuser role (it bypasses row-level security). */
async function assertServerFits(pool: pg.Pool): Promise<void> {
  const { client: first, release } = await checkout(pool);
  try {
    const who = await first.query<{ super: boolean; version: number }>(
      `select rolsuper as super, current_setting('server_version_num')::int as version from pg_roles where rolname = current_user`,
    );
    const row = who.rows[0]!;
    if (row.version < 150000) {
      throw new Error(`PostgreSQL 15 or newer is required (server reports ${row.version})`);
    }
    if (row.super) {
      throw new Error(
        'STELLA_DATABASE_URL connects as a superuser, which bypasses row-level security; create a non-superuser role (see README "Scale-out") and connect as it',
      );
    }
  } finally {
    release();
  }
}

async function cancelBackend(url: string, pid: number): Promise<void> {
  const side = new pg.Client({ connectionString: url, connectionTimeoutMillis: CANCEL_CONNECT_TIMEOUT_MS });
  side.on('error', () => {});
  try {
    await side.connect();
    await side.query('select pg_cancel_backend($1)', [pid]);
  } finally {
    await side.end().catch(() => {});
  }
}

/** Cancels the client's running statement when signal fires; settle() before reusing or releasing the client. */
function cancelOnAbort(url: string, client: pg.PoolClient, signal: AbortSignal | undefined) {
  let cancelling: Promise<void> | undefined;
  const onAbort = () => {
    const pid = (client as unknown as { processID?: number }).processID;
    if (pid) cancelling = cancelBackend(url, pid).catch(() => {});
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  return {
    /** Waits for a cancel in flight, so it cannot hit a later statement on this connection. */
    async settle() {
      signal?.removeEventListener('abort', onAbort);
      await cancelling;
    },
  };
}

/** A statement outside a transaction, on a connection of its own that can be cancelled with the work. */
async function poolQuery<T>(
  pool: pg.Pool,
  url: string,
  text: string,
  params?: readonly unknown[],
): Promise<QueryResult<T>> {
  const signal = currentWork()?.signal;
  throwIfCancelled(signal);
  const { client, release, failure } = await checkout(pool);
  const cancel = cancelOnAbort(url, client, signal);
  try {
    throwIfCancelled(signal);
    const result = await client.query(text, params as unknown[] | undefined);
    return { rows: result.rows as T[], rowCount: result.rowCount ?? result.rows.length };
  } catch (error) {
    throw failure(error);
  } finally {
    await cancel.settle();
    release();
  }
}

async function poolTransaction<T>(
  pool: pg.Pool,
  url: string,
  fn: (tx: Tx) => Promise<T>,
  txOptions: TransactionOptions,
): Promise<T> {
  const work = currentWork();
  const signal = txOptions.signal ?? work?.signal;
  throwIfCancelled(signal);
  const { client, release, failure } = await checkout(pool);
  const cancel = cancelOnAbort(url, client, signal);
  let clean = true;
  try {
    throwIfCancelled(signal);
    await beginTransaction(client, work, signal, txOptions);
    const value = await fn(clientTx(client, signal));
    // Nothing commits after the deadline.
    throwIfCancelled(signal);
    await client.query('commit');
    return value;
  } catch (error) {
    // A cancel still on its way could otherwise cancel the rollback and leave the connection in
    // a failed transaction for its next user.
    await cancel.settle();
    await client.query('rollback').catch(() => {
      clean = false;
    });
    throw failure(error);
  } finally {
    await cancel.settle();
    // A connection whose rollback failed is closed instead of going back to the pool.
    release(!clean);
  }
}

/** Begins, with the work's time left as statement_timeout and the tenant for row-level security. */
async function beginTransaction(
  client: pg.PoolClient,
  work: Work | undefined,
  signal: AbortSignal | undefined,
  txOptions: TransactionOptions,
): Promise<void> {
  await client.query('begin');
  if (work?.deadlineAt !== undefined && signal === work.signal) {
    const left = Math.max(1, Math.ceil(work.deadlineAt - Date.now()));
    await client.query(`select set_config('statement_timeout', $1, true)`, [String(left)]);
  }
  if (txOptions.tenant !== undefined) {
    await client.query(`select set_config('app.tenant', $1, true)`, [txOptions.tenant]);
  }
}

function clientTx(client: pg.PoolClient, signal: AbortSignal | undefined): Tx {
  return {
    async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      throwIfCancelled(signal);
      const result = await client.query(text, params as unknown[] | undefined);
      return { rows: result.rows as R[], rowCount: result.rowCount ?? result.rows.length };
    },
    async exec(sql: string) {
      throwIfCancelled(signal);
      await client.query(sql);
    },
    async copyFrom(sql: string, chunks: Iterable<string> | AsyncIterable<string>) {
      throwIfCancelled(signal);
      // The server's refusal (a bad value, a cancel) fails the copy stream, and pipeline rejects with
      // it; the transaction is then aborted and poolTransaction rolls it back as for any statement.
      const copy = client.query(copyFromStdin(sql));
      await pipeline(Readable.from(chunks, { objectMode: false }), copy);
      return copy.rowCount;
    },
  };
}
