// Storage faults: a full or read-only database or CAS. They are recognised where they surface (a
// request, a job, the readiness probe), logged once per transition, answered with 503
// ERR_STORAGE_UNAVAILABLE instead of 500, and keep /readyz at 503 until a write probe succeeds again,
// so the server recovers without a restart.
import { Errors, StellaError } from '@stella/core';
import type { BlobStore } from '../blob/index.ts';
import type { Db, TransactionOptions, Tx } from '../db/index.ts';
import type { Logger } from './logger.ts';

export type StorageName = 'database' | 'cas';
export type StorageFaultKind = 'disk-full' | 'read-only' | 'io-error' | 'stopped' | 'unusable';

export interface StorageFault {
  /** Undefined for a full or read-only device met outside the two stores (e.g. a spool directory). */
  store: StorageName | undefined;
  kind: StorageFaultKind;
  /** errno (ENOSPC) or SQLSTATE (53100). */
  code: string;
  message: string;
  path?: string | undefined;
}

const SQLSTATE_FAULTS: Record<string, StorageFaultKind> = {
  '53100': 'disk-full', // disk_full
  '25006': 'read-only', // read_only_sql_transaction
  '58030': 'io-error', // io_error
  // The server ended the session: a shutdown, a crash restart, a terminated backend, or still starting.
  '57P01': 'stopped', // admin_shutdown
  '57P02': 'stopped', // crash_shutdown
  '57P03': 'stopped', // cannot_connect_now
};
// Unambiguous wherever they come from: writing is refused because the device is full or mounted read-only.
const ERRNO_FAULTS: Record<string, StorageFaultKind> = {
  ENOSPC: 'disk-full',
  EDQUOT: 'disk-full',
  EROFS: 'read-only',
  EIO: 'io-error',
};
// Faults only inside the store itself (the CAS root): elsewhere they mean a wrong input path.
const STORE_ERRNO_FAULTS: Record<string, StorageFaultKind> = {
  ...ERRNO_FAULTS,
  EACCES: 'read-only',
  EPERM: 'read-only',
  ENOTDIR: 'unusable',
  // mkdir -p meeting a file where the store keeps a directory (its staging area, a shard).
  EEXIST: 'unusable',
};
const MAX_CAUSE_DEPTH = 8;

/**
 * The storage fault an error stands for, following `cause` chains and aggregate errors. `store` says
 * which store the error came from when the caller knows (an error thrown by the CAS port); without it
 * only database errors (by SQLSTATE) and errors already coded ERR_STORAGE_UNAVAILABLE are recognised.
 */
export function storageFaultOf(error: unknown, store?: StorageName): StorageFault | undefined {
  const seen = new Set<unknown>();
  const walk = (value: unknown, depth: number): StorageFault | undefined => {
    if (!value || typeof value !== 'object' || seen.has(value) || depth > MAX_CAUSE_DEPTH) return undefined;
    seen.add(value);
    const fault = faultOfOne(value as Record<string, unknown>, store);
    if (fault) return fault;
    const inners = (value as { errors?: unknown }).errors;
    for (const inner of Array.isArray(inners) ? inners : []) {
      const found = walk(inner, depth + 1);
      if (found) return found;
    }
    return walk((value as { cause?: unknown }).cause, depth + 1);
  };
  return walk(error, 0);
}

function faultOfOne(error: Record<string, unknown>, store: StorageName | undefined): StorageFault | undefined {
  const message = typeof error.message === 'string' ? error.message : String(error);
  if (error instanceof StellaError && error.code === Errors.storageUnavailable.code) {
    const details = (error.details ?? {}) as Partial<StorageFault>;
    return {
      store: details.store ?? store ?? 'database',
      kind: details.kind ?? 'unusable',
      code: details.code ?? error.code,
      message,
      path: details.path,
    };
  }
  const code = typeof error.code === 'string' ? error.code : undefined;
  if (!code) return undefined;
  // node-postgres and PGlite database errors carry a severity beside the SQLSTATE.
  // Class 08 is every connection exception (the session failed or could not be established).
  const sqlKind =
    typeof error.severity === 'string'
      ? (SQLSTATE_FAULTS[code] ?? (code.startsWith('08') ? 'stopped' : undefined))
      : undefined;
  if (sqlKind) return { store: 'database', kind: sqlKind, code, message };
  const errnoKind = store ? STORE_ERRNO_FAULTS[code] : ERRNO_FAULTS[code];
  if (errnoKind && typeof error.syscall === 'string') {
    return {
      store,
      kind: errnoKind,
      code,
      message,
      path: typeof error.path === 'string' ? error.path : undefined,
    };
  }
  return undefined;
}

/** The 503 a request answers with when storage failed it; the original error stays as cause. */
export function storageUnavailableError(fault: StorageFault, cause: unknown): StellaError {
  if (cause instanceof StellaError && cause.code === Errors.storageUnavailable.code) return cause;
  return new StellaError(
    Errors.storageUnavailable,
    `${fault.store ?? 'storage'} ${describeKind(fault.kind)}: ${fault.message}`,
    {
      cause,
      details: { store: fault.store, kind: fault.kind },
    },
  );
}

function describeKind(kind: StorageFaultKind): string {
  switch (kind) {
    case 'disk-full':
      return 'is full';
    case 'read-only':
      return 'is read-only';
    case 'io-error':
      return 'reports an I/O error';
    case 'stopped':
      return 'stopped';
    case 'unusable':
      return 'cannot be written';
  }
}

export interface StorageHealthOptions {
  logger: Logger;
  /** Least time between two write probes of one store; /readyz answers in between from the last result. */
  probeIntervalMs: number;
  now?: () => number;
}

export interface StorageHealth {
  /**
   * Returns the fault an error stands for, if any, and records it when it names a store. The first fault of a store is
   * logged and turns readiness 503 until a write probe succeeds, at the earliest one probe interval later.
   */
  report(error: unknown, store?: StorageName): StorageFault | undefined;
  /** A readiness check for store: its write probe, run at most once per interval, shared by concurrent callers. */
  check(store: StorageName, probe: () => Promise<void>): () => Promise<void>;
  /** The standing fault of each failing store. */
  faults(): (StorageFault & { store: StorageName })[];
}

interface StoreState {
  fault: (StorageFault & { store: StorageName }) | undefined;
  probedAt: number;
  running: Promise<void> | undefined;
  /** The last probe's error when it was not a storage fault (e.g. a timeout); readiness fails with it. */
  lastError: Error | undefined;
}

export function createStorageHealth(options: StorageHealthOptions): StorageHealth {
  const { logger, probeIntervalMs } = options;
  const now = options.now ?? (() => performance.now());
  const states = new Map<StorageName, StoreState>();
  const stateOf = (store: StorageName) => {
    let state = states.get(store);
    if (!state) {
      state = { fault: undefined, probedAt: Number.NEGATIVE_INFINITY, running: undefined, lastError: undefined };
      states.set(store, state);
    }
    return state;
  };

  const fail = (fault: StorageFault & { store: StorageName }, via: string) => {
    const state = stateOf(fault.store);
    if (!state.fault) {
      logger.error(
        { store: fault.store, kind: fault.kind, code: fault.code, path: fault.path, via },
        `storage ${fault.store} ${describeKind(fault.kind)} (${fault.code}${fault.path ? ` at ${fault.path}` : ''}): readiness is 503 and writes answer ERR_STORAGE_UNAVAILABLE until a write probe succeeds`,
      );
    }
    state.fault = fault;
  };

  return {
    report(error, store) {
      const fault = storageFaultOf(error, store);
      if (!fault?.store) return fault;
      fail({ ...fault, store: fault.store }, 'request or job');
      // A small probe could pass while larger writes still fail (disk nearly full): wait one interval.
      stateOf(fault.store).probedAt = now();
      return fault;
    },

    check(store, probe) {
      const state = stateOf(store);
      const runProbe = async () => {
        try {
          await probe();
          state.lastError = undefined;
          if (state.fault) {
            logger.info({ store, was: state.fault.kind }, `storage ${store} accepts writes again: ready`);
            state.fault = undefined;
          }
        } catch (error) {
          const fault = storageFaultOf(error, store === 'cas' ? 'cas' : undefined);
          if (fault) fail({ ...fault, store }, 'write probe');
          else state.lastError = error instanceof Error ? error : new Error(String(error));
        } finally {
          state.probedAt = now();
          state.running = undefined;
        }
      };
      return async () => {
        if (now() - state.probedAt >= probeIntervalMs) state.running ??= runProbe();
        if (state.running) await state.running;
        if (state.fault) throw new Error(`${describeKind(state.fault.kind)}: ${state.fault.message}`);
        if (state.lastError) throw state.lastError;
      };
    },

    faults: () => [...states.values()].flatMap((state) => (state.fault ? [state.fault] : [])),
  };
}

/**
 * The CAS port with its faults recognised: an error that means the store is full or read-only is
 * reported and rethrown as ERR_STORAGE_UNAVAILABLE (503), with the original as cause.
 */
export function guardBlobStore(blobs: BlobStore, health: StorageHealth): BlobStore {
  const rethrow = (error: unknown): never => {
    const fault = health.report(error, 'cas');
    throw fault ? storageUnavailableError(fault, error) : error;
  };
  return {
    put: (namespace, body, options) => blobs.put(namespace, body, options).catch(rethrow),
    get: (uri) => blobs.get(uri).catch(rethrow),
    getRange: (uri, start, end) => blobs.getRange(uri, start, end).catch(rethrow),
    getBytes: (uri, maxBytes) => blobs.getBytes(uri, maxBytes).catch(rethrow),
    head: (uri) => blobs.head(uri).catch(rethrow),
    delete: (uri) => blobs.delete(uri).catch(rethrow),
    list: (namespace) => blobs.list(namespace),
  };
}

/** The Db port with its faults recognised, as guardBlobStore does for the CAS. */
export function guardDb(db: Db, health: StorageHealth): Db {
  const rethrow = (error: unknown): never => {
    const fault = health.report(error, 'database');
    throw fault ? storageUnavailableError(fault, error) : error;
  };
  return {
    ...db,
    backend: db.backend,
    capabilities: db.capabilities,
    query: <T>(text: string, params?: readonly unknown[]) => db.query<T>(text, params).catch(rethrow),
    transaction: <T>(fn: (tx: Tx) => Promise<T>, options?: TransactionOptions) =>
      db.transaction(fn, options).catch(rethrow),
    queueAdapter: () => {
      const adapter = db.queueAdapter();
      return { executeSql: (text, values) => adapter.executeSql(text, values).catch(rethrow) };
    },
    ping: () => db.ping(),
    probeWrite: () => db.probeWrite(),
    close: () => db.close(),
  };
}
