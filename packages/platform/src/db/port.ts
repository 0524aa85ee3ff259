// The Db port: one small interface over in-process PGlite and PostgreSQL, plus the capability table
// that code and tests consult instead of asking which backend they run on.

export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

export interface Queryable {
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
}

/** A transaction handle: queries plus multi-statement scripts (migrations). */
export interface Tx extends Queryable {
  exec(sql: string): Promise<void>;
  /**
   * Runs `COPY … FROM STDIN` in this transaction, sending the chunks as they come (rows already in
   * COPY's format: copy-text.ts writes the text format) and resolving with the rows copied. Present
   * exactly when the backend's capabilities.copyFrom is true: PGlite has no COPY from a client stream.
   */
  copyFrom?(sql: string, chunks: Iterable<string> | AsyncIterable<string>): Promise<number>;
}

export interface TransactionOptions {
  /** Sets `app.tenant` for this transaction, which the row-level security policies read. */
  tenant?: string;
  /**
   * Cancels the transaction: no statement starts after it fired and nothing commits; PostgreSQL also
   * cancels the statement running. Default: the signal of the current work (request or job, see work.ts).
   */
  signal?: AbortSignal;
}

export interface BackendCapabilities {
  /** Several transactions can be open at once (PGlite serialises them). */
  concurrentTransactions: boolean;
  /** NOTIFY reaches other connections and processes. */
  listenNotify: boolean;
  /** pg_advisory_lock excludes other sessions. */
  advisoryLocks: boolean;
  /** COPY FROM STDIN works. */
  copyFrom: boolean;
  /** Several processes can share the database. */
  multiProcess: boolean;
}

export type Backend = 'pglite' | 'postgres';

export const CAPABILITIES: Record<Backend, BackendCapabilities> = {
  // One in-process PGlite instance is a single session: transactions queue behind each other and
  // nothing outside this process can connect.
  pglite: {
    concurrentTransactions: false,
    listenNotify: false,
    advisoryLocks: false,
    copyFrom: false,
    multiProcess: false,
  },
  postgres: {
    concurrentTransactions: true,
    listenNotify: true,
    advisoryLocks: true,
    copyFrom: true,
    multiProcess: true,
  },
};

export interface Db extends Queryable {
  readonly backend: Backend;
  readonly capabilities: BackendCapabilities;
  /** Runs fn in one transaction; on PGlite never call db.query from inside fn (it would wait forever). */
  transaction<T>(fn: (tx: Tx) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** pg-boss adapter for the same database. */
  queueAdapter(): { executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> };
  ping(): Promise<void>;
  /**
   * Proves the database accepts a committed write (readiness). Throws the database's own error when it
   * is full or read-only. Embedded PGlite stopped by a PANIC (disk full while writing its WAL) is
   * reopened here once its directory is writable and has room again.
   */
  probeWrite(): Promise<void>;
  close(): Promise<void>;
}
