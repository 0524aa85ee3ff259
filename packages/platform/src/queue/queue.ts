// The job queue: pg-boss on stella's own database (in-process PGlite or PostgreSQL). Every queue gets
// exponential-backoff retries, a dead-letter queue `<name>.dlq`, and an optional per-key (per-tenant)
// limit on active jobs.
import type { TextMapPropagator, TracerProvider } from '@opentelemetry/api';
import { coerceError } from '@stella/core';
import { type Job, type JobWithMetadata, PgBoss, type QueueResult } from 'pg-boss';
import type { Db } from '../db/port.ts';

export interface QueueOptions {
  /** Retries after the first attempt before a job is dead-lettered (config `queue.retryLimit`). */
  retryLimit: number;
  /** First retry delay; each later retry waits about twice as long, with jitter. */
  retryDelaySeconds: number;
  /** Cap on the backoff so a flapping dependency is still retried hourly rather than daily. */
  retryDelayMaxSeconds: number;
  /** PostgreSQL schema for pg-boss's tables. */
  schema?: string;
  /** How often an idle worker asks for work; pg-boss refuses less than 0.5 s. */
  pollingIntervalSeconds?: number;
  /** How often pg-boss's supervisor fails expired jobs and jobs with missed heartbeats (default 60). */
  superviseIntervalSeconds?: number;
  /** Background failures (polling, maintenance, cron). Without a listener pg-boss's 'error' would kill the process. */
  onError?: (error: Error) => void;
  /**
   * Tracing (telemetry/): send and process spans, and each job stores its sender's W3C trace context
   * so the worker's span continues the trace of the request that enqueued it. Absent: pg-boss's own
   * telemetry is off and no trace context is stored.
   */
  tracing?: { tracerProvider: TracerProvider; propagator: TextMapPropagator } | undefined;
  /** Called as each handler attempt ends (queue metrics: failure rate, error codes, duration). Must not throw. */
  onAttempt?: (attempt: JobAttempt) => void;
}

/** One run of a handler on one job, as it ended. */
export interface JobAttempt {
  queue: string;
  outcome: 'completed' | 'failed';
  /** What the handler threw, when it failed. */
  error?: unknown;
  seconds: number;
}

/**
 * How a queue admits jobs. `standard` queues everything; `singleton` runs one job at a time per
 * singletonKey; `stately` keeps at most one queued and one active per singletonKey; `exclusive`
 * allows one queued-or-active job per singletonKey (a duplicate `send` returns null).
 */
export type QueuePolicy = 'standard' | 'singleton' | 'stately' | 'exclusive';

export interface DefineQueueOptions {
  /** Overrides the default retry budget for this queue. */
  retryLimit?: number;
  /** Most jobs active at once for one `key` (e.g. one tenant); unset means no per-key limit. */
  concurrencyKeyLimit?: number;
  policy?: QueuePolicy;
  /**
   * Workers report a running job every half of this; a job silent for longer (its process was killed)
   * is failed and retried by pg-boss's monitor. At least 10. Unset: only the 15-minute expiry applies.
   */
  heartbeatSeconds?: number;
}

export interface SendJobOptions {
  /** Groups jobs for `concurrencyKeyLimit`, e.g. the tenant id. */
  key?: string;
  /** Deduplicates only on queues whose policy is not `standard` (see QueuePolicy). */
  singletonKey?: string;
  startAfterSeconds?: number;
  /** Higher runs first. */
  priority?: number;
}

export interface QueueJob<T = unknown> {
  id: string;
  name: string;
  data: T;
  /** 0 on the first attempt, then one more per retry. */
  retryCount: number;
}

export type JobHandler<T = unknown> = (job: QueueJob<T>) => Promise<unknown>;

export interface WorkOptions {
  /** Jobs of this queue this process runs at once. */
  concurrency?: number;
}

export interface DeadLetter {
  /** Id of the dead letter (pass it to retryDeadLetters). */
  id: string;
  /** The queue the job failed on. */
  queue: string;
  data: unknown;
  /** Message of the last error. */
  error: string;
  failedAt: Date;
  /** Retries the job used before it was dead-lettered. */
  retryCount: number;
}

export interface QueueStats {
  queue: string;
  /** Waiting to run, including jobs waiting out a retry delay or a startAfter. */
  queued: number;
  active: number;
  deadLetters: number;
  /**
   * Age of the oldest job that could run now (its startAfter or retry delay has passed) but no worker
   * has taken; 0 when none waits. Unlike `queued`, jobs deliberately delayed do not count, so this
   * grows only when workers fall behind, are down, or a per-key limit holds jobs back.
   */
  oldestReadySeconds: number;
}

export interface JobQueue {
  /** Installs or migrates pg-boss's schema (safe when several processes start at once) and starts maintenance. */
  start(): Promise<void>;
  /** Creates (or updates) queue `name` and its dead-letter queue `${name}.dlq`. */
  define(name: string, options?: DefineQueueOptions): Promise<void>;
  /** Returns the job id, or null when the queue's policy refused a duplicate. */
  send(name: string, data: object, options?: SendJobOptions): Promise<string | null>;
  /**
   * Wakes this process's idle workers of queue `name` to fetch now instead of at their next poll; a
   * no-op where the queue has no local worker (other processes still poll).
   */
  wake(name: string): void;
  /** A thrown error fails the attempt: retried with backoff, dead-lettered after the retry budget. */
  work<T = unknown>(name: string, handler: JobHandler<T>, options?: WorkOptions): Promise<void>;
  /** Jobs sitting in every dead-letter queue, or in `queue`'s; oldest first. */
  deadLetters(options?: { queue?: string; limit?: number }): Promise<DeadLetter[]>;
  /**
   * Calls `handler` for each dead letter of queue `name`, checking every superviseIntervalSeconds
   * while this process runs: how a room settles the record of a job its worker never could (killed
   * on its last attempt; pg-boss's supervisor dead-letters it). The letters stay for operators, so
   * other processes, and this one after a restart, see them again: the handler must be idempotent.
   */
  onDeadLetter(name: string, handler: (letter: DeadLetter) => Promise<void>): void;
  /** Re-queues dead letters on their original queue with a fresh retry budget; returns how many moved. */
  retryDeadLetters(options: { queue?: string; ids?: string[] }): Promise<number>;
  /** Sends a job to `name` on a cron expression (UTC); one schedule per queue. */
  schedule(name: string, cron: string, data?: object): Promise<void>;
  /** Live counts per queue (dead-letter queues are folded into their source queue's row). */
  stats(): Promise<QueueStats[]>;
  /** Stops fetching, lets running handlers finish for up to graceMs, then fails the rest (an attempt spent; they retry later). */
  stop(options?: { graceMs?: number }): Promise<void>;
}

const DEAD_LETTER_SUFFIX = '.dlq';
// pg-boss's own default: an idle worker costs one cheap query per queue every two seconds.
const DEFAULT_POLLING_INTERVAL_SECONDS = 2;
// pg-boss deletes queued jobs after 14 days by default; a dead letter waits for an operator, so it
// is kept long enough to outlast a holiday and a triage backlog.
const DEAD_LETTER_RETENTION_SECONDS = 60 * 60 * 24 * 30;
// Long enough for a handler to finish a chunk of work; short of systemd's 90 s stop timeout, after
// which the process is killed and its active jobs wait for pg-boss's expiry (15 min) to retry.
const DEFAULT_GRACE_MS = 30_000;
// One page an operator can read; the dead-letter health check already fails at 50.
const DEFAULT_DEAD_LETTER_LIMIT = 100;
// Letters onDeadLetter reads per query, oldest first; a pass pages through all of them.
const DEAD_LETTER_WATCH_PAGE = 1000;
// pg-boss's supervisor default, which onDeadLetter follows when the option is unset.
const DEFAULT_SUPERVISE_INTERVAL_SECONDS = 60;
// pg-boss's own default batch: one statement each, so a large backlog never holds one long transaction.
const REDRIVE_BATCH = 1000;
// pg-boss's rule for queue names.
const QUEUE_NAME = /^[\w.\-/]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// pg-boss waits 1, 2, 4, 8 s between attempts: enough for a racing install or a database still starting.
const START_ATTEMPTS = 5;
// The schema name is interpolated into the stats query, so only plain identifiers are accepted.
const SCHEMA_NAME = /^[a-z_][a-z0-9_]*$/;

export function createJobQueue(db: Db, options: QueueOptions): JobQueue {
  const schema = options.schema ?? 'pgboss';
  if (!SCHEMA_NAME.test(schema)) throw new Error(`queue schema must be a lower-case identifier, not ${schema}`);
  const state: QueueState = {
    boss: newBoss(db, schema, options),
    options,
    pollingIntervalSeconds: options.pollingIntervalSeconds ?? DEFAULT_POLLING_INTERVAL_SECONDS,
    localWorkers: new Map(),
    keyLimits: new Map(),
    deadLetterWatches: new Set(),
  };
  const { boss } = state;
  return {
    async start() {
      // pg-boss's first install creates its schema without a lock, so a second process starting at
      // the same moment fails on a catalog unique index; by its next attempt the schema is in place.
      await boss.start({ attempts: START_ATTEMPTS });
    },
    define: (name, defineOptions = {}) => defineQueue(state, name, defineOptions),
    send: (name, data, sendOptions = {}) => sendJob(boss, name, data, sendOptions),
    work: <T>(name: string, handler: JobHandler<T>, workOptions: WorkOptions = {}) =>
      startWorker(state, name, handler, workOptions),
    wake(name) {
      for (const id of state.localWorkers.get(name) ?? []) boss.notifyWorker(id);
    },
    deadLetters: (listOptions = {}) => listDeadLetters(boss, listOptions),
    onDeadLetter: (name, handler) => watchDeadLetters(state, name, handler),
    retryDeadLetters: (retryOptions) => redriveDeadLetters(boss, retryOptions),
    async schedule(name, cron, data) {
      await boss.schedule(name, cron, data ?? null);
    },
    stats: () => queueStats(db, schema),
    async stop(stopOptions = {}) {
      for (const timer of state.deadLetterWatches) clearInterval(timer);
      await boss.stop({ graceful: true, timeout: stopOptions.graceMs ?? DEFAULT_GRACE_MS });
    },
  };
}

/** What the queue's methods share: pg-boss, the options, and this process's workers and per-key limits. */
interface QueueState {
  boss: PgBoss;
  options: QueueOptions;
  pollingIntervalSeconds: number;
  // Workers of this process per queue, so a job sent here can be picked up at once (wake).
  localWorkers: Map<string, string[]>;
  // Per-key limits are a fetch option in pg-boss, not a queue property, so work() reads them from here.
  keyLimits: Map<string, number | undefined>;
  // onDeadLetter's timers, cleared by stop().
  deadLetterWatches: Set<ReturnType<typeof setInterval>>;
}

function newBoss(db: Db, schema: string, options: QueueOptions): PgBoss {
  const boss = new PgBoss({
    db: queueAdapter(db, schema),
    backend: db.backend === 'pglite' ? 'pglite' : 'postgres',
    schema,
    ...(options.superviseIntervalSeconds !== undefined && {
      superviseIntervalSeconds: options.superviseIntervalSeconds,
    }),
    // Only W3C traceparent/tracestate are stored on a job (the propagator given), never baggage.
    openTelemetry: options.tracing ? { propagateContext: true, ...options.tracing } : { enabled: false },
  });
  boss.on('error', (error: unknown) => options.onError?.(toError(error)));
  return boss;
}

async function defineQueue(state: QueueState, name: string, defineOptions: DefineQueueOptions): Promise<void> {
  const { boss, options } = state;
  if (name.endsWith(DEAD_LETTER_SUFFIX))
    throw new Error(`queue name ${name} ends in ${DEAD_LETTER_SUFFIX}, which is reserved`);
  const deadLetter = name + DEAD_LETTER_SUFFIX;
  // The dead-letter queue has to exist before a queue can name it.
  await upsertQueue(boss, deadLetter, { retentionSeconds: DEAD_LETTER_RETENTION_SECONDS });
  await upsertQueue(
    boss,
    name,
    {
      retryLimit: defineOptions.retryLimit ?? options.retryLimit,
      retryDelay: options.retryDelaySeconds,
      retryBackoff: true,
      retryDelayMax: options.retryDelayMaxSeconds,
      deadLetter,
      ...(defineOptions.heartbeatSeconds !== undefined && { heartbeatSeconds: defineOptions.heartbeatSeconds }),
    },
    defineOptions.policy ?? 'standard',
  );
  state.keyLimits.set(name, defineOptions.concurrencyKeyLimit);
}

function sendJob(boss: PgBoss, name: string, data: object, sendOptions: SendJobOptions): Promise<string | null> {
  return boss.send(name, data, {
    ...(sendOptions.key !== undefined && { group: { id: sendOptions.key } }),
    ...(sendOptions.singletonKey !== undefined && { singletonKey: sendOptions.singletonKey }),
    ...(sendOptions.startAfterSeconds !== undefined && { startAfter: sendOptions.startAfterSeconds }),
    ...(sendOptions.priority !== undefined && { priority: sendOptions.priority }),
  });
}

async function startWorker<T>(
  state: QueueState,
  name: string,
  handler: JobHandler<T>,
  workOptions: WorkOptions,
): Promise<void> {
  const { boss, keyLimits, localWorkers } = state;
  // Without define() this process would not know the queue's per-key limit and would silently ignore it.
  if (!keyLimits.has(name)) throw new Error(`queue ${name} must be defined in this process before work()`);
  const keyLimit = keyLimits.get(name);
  const workerId = await boss.work<T>(
    name,
    {
      batchSize: 1,
      localConcurrency: workOptions.concurrency ?? 1,
      pollingIntervalSeconds: state.pollingIntervalSeconds,
      ...(keyLimit !== undefined && { groupConcurrency: keyLimit }),
    },
    async (jobs: Job<T>[]) => {
      for (const job of jobs) {
        const started = performance.now();
        const ended = (outcome: JobAttempt['outcome'], error?: unknown) =>
          state.options.onAttempt?.({
            queue: name,
            outcome,
            ...(outcome === 'failed' && { error }),
            seconds: (performance.now() - started) / 1000,
          });
        try {
          await handler({ id: job.id, name: job.name, data: job.data, retryCount: job.retryCount });
        } catch (error) {
          ended('failed', error);
          throw error;
        }
        ended('completed');
      }
    },
  );
  localWorkers.set(name, [...(localWorkers.get(name) ?? []), workerId]);
}

// An unknown or malformed queue name (e.g. from an HTTP filter) has no dead letters; pg-boss
// would throw on either.
async function deadLetterQueues(boss: PgBoss, queue?: string): Promise<string[]> {
  if (queue !== undefined) {
    const name = queue + DEAD_LETTER_SUFFIX;
    return QUEUE_NAME.test(name) && (await boss.getQueue(name)) ? [name] : [];
  }
  const queues = await boss.getQueues();
  return queues.map((q: QueueResult) => q.name).filter((name) => name.endsWith(DEAD_LETTER_SUFFIX));
}

async function listDeadLetters(boss: PgBoss, listOptions: { queue?: string; limit?: number }): Promise<DeadLetter[]> {
  const limit = listOptions.limit ?? DEFAULT_DEAD_LETTER_LIMIT;
  const letters: DeadLetter[] = [];
  for (const queue of await deadLetterQueues(boss, listOptions.queue)) {
    const jobs = await boss.findJobs(queue, { queued: true, limit });
    for (const job of jobs) letters.push(toDeadLetter(job, queue));
  }
  letters.sort((a, b) => a.failedAt.getTime() - b.failedAt.getTime());
  return letters.slice(0, limit);
}

function toDeadLetter(job: JobWithMetadata<unknown>, deadLetterQueue: string): DeadLetter {
  return {
    id: job.id,
    queue: job.sourceName ?? deadLetterQueue.slice(0, -DEAD_LETTER_SUFFIX.length),
    data: job.data,
    error: errorMessage(job.sourceOutput),
    failedAt: job.createdOn,
    retryCount: job.sourceRetryCount ?? 0,
  };
}

/**
 * Polls at the supervisor's pace (a job is dead-lettered no sooner than its check), one pass at a
 * time, paging oldest first from the last letter handled. A letter is handled once per process; a
 * failing handler is reported and the pass stops there, to try that letter again next time. An
 * operator who retried the cursor's letter removed it: the pass then starts from the oldest again.
 */
function watchDeadLetters(state: QueueState, name: string, handler: (letter: DeadLetter) => Promise<void>): void {
  const queue = name + DEAD_LETTER_SUFFIX;
  const handled = new Set<string>();
  let after: string | undefined;
  let running = false;
  const pass = async () => {
    if (running || !(await state.boss.getQueue(queue))) return;
    running = true;
    try {
      for (;;) {
        const page = await state.boss
          .findJobs(queue, { queued: true, limit: DEAD_LETTER_WATCH_PAGE, ...(after && { after }) })
          .catch((error: unknown) => {
            if (after === undefined) throw error;
            after = undefined;
            return [];
          });
        for (const job of page) {
          if (!handled.has(job.id)) await handler(toDeadLetter(job, queue));
          handled.add(job.id);
          after = job.id;
        }
        if (page.length < DEAD_LETTER_WATCH_PAGE) break;
      }
    } catch (error) {
      state.options.onError?.(toError(error));
    } finally {
      running = false;
    }
  };
  const seconds = state.options.superviseIntervalSeconds ?? DEFAULT_SUPERVISE_INTERVAL_SECONDS;
  const timer = setInterval(() => void pass(), seconds * 1000);
  timer.unref();
  state.deadLetterWatches.add(timer);
  void pass();
}

async function redriveDeadLetters(boss: PgBoss, retryOptions: { queue?: string; ids?: string[] }): Promise<number> {
  // pg-boss compares ids as uuid, so anything else would be an SQL error rather than "not found";
  // and it rejects an empty list, which here simply means nothing to retry.
  const ids = retryOptions.ids?.filter((id) => UUID.test(id));
  if (ids?.length === 0) return 0;
  let moved = 0;
  for (const queue of await deadLetterQueues(boss, retryOptions.queue)) {
    for (;;) {
      const batch = await boss.redrive(queue, { limit: REDRIVE_BATCH, ...(ids && { ids }) });
      moved += batch;
      if (batch < REDRIVE_BATCH) break;
    }
  }
  return moved;
}

async function queueStats(db: Db, schema: string): Promise<QueueStats[]> {
  // The database's now(), not the injected clock: it is the time pg-boss compares start_after with
  // when it decides a job may be fetched.
  const { rows } = await db.query<{ name: string; queued: number; active: number; oldest_ready: number }>(
    `select q.name,
            count(j.id) filter (where j.state < 'active')::int as queued,
            count(j.id) filter (where j.state = 'active')::int as active,
            coalesce(extract(epoch from now() - min(j.start_after)
                       filter (where j.state < 'active' and j.start_after <= now())), 0)::float8 as oldest_ready
       from ${schema}.queue q left join ${schema}.job j on j.name = q.name
      group by q.name order by q.name`,
  );
  const byName = new Map(rows.map((row) => [row.name, row]));
  return rows
    .filter((row) => !row.name.endsWith(DEAD_LETTER_SUFFIX) && !row.name.startsWith('__pgboss__'))
    .map((row) => ({
      queue: row.name,
      queued: row.queued,
      active: row.active,
      deadLetters: byName.get(row.name + DEAD_LETTER_SUFFIX)?.queued ?? 0,
      oldestReadySeconds: Math.max(0, row.oldest_ready),
    }));
}

type QueueSettings = Parameters<PgBoss['createQueue']>[1] & Parameters<PgBoss['updateQueue']>[1];

/** createQueue leaves an existing queue untouched, so a changed retry budget needs updateQueue too. */
async function upsertQueue(boss: PgBoss, name: string, settings: QueueSettings, policy?: string): Promise<void> {
  await boss.createQueue(name, { ...settings, ...(policy !== undefined && { policy }) });
  await boss.updateQueue(name, settings);
}

// pg-boss names these CTEs only in a fetch that enforces groupConcurrency (limit 1, and above 1).
const GROUP_LIMITED_FETCH = /\bactive_group_(probe|count_map)\b/;

/** The Db port's adapter, serialising group-limited fetches where transactions run side by side. */
function queueAdapter(db: Db, schema: string) {
  const adapter = db.queueAdapter();

  if (db.capabilities.concurrentTransactions) {
    // pg-boss checks a key's active count and claims a job in one statement, but two statements
    // running at once on different connections both see the key idle and both claim (measured: 20
    // overlaps in 300 jobs with 8 workers). Taking one lock per schema before the fetch makes the
    // second fetch start after the first committed, so it sees the claim. Only group-limited
    // fetches wait, and each holds the lock for one short statement.
    return {
      executeSql(text: string, values?: unknown[]) {
        if (!GROUP_LIMITED_FETCH.test(text)) return adapter.executeSql(text, values);
        return db.transaction(async (tx) => {
          // The two-key form lives apart from pg-boss's own single-key advisory locks.
          await tx.query(`select pg_advisory_xact_lock(hashtext('stella.queue.group-fetch'), hashtext($1))`, [schema]);
          return tx.query(text, values);
        });
      },
    };
  }

  return adapter;
}

/** pg-boss re-emits some errors as plain objects ({...error, message, stack}). */
function toError(value: unknown): Error {
  if (value instanceof Error || typeof value !== 'object' || value === null) return coerceError(value);
  const { message, stack, ...rest } = value as { message?: unknown; stack?: unknown };
  const error = new Error(typeof message === 'string' ? message : 'job queue error', { cause: rest });
  if (typeof stack === 'string') error.stack = stack;
  return error;
}

/** pg-boss stores a thrown error as its serialised form ({name, message, stack}). */
/** The failure message of a job's output: a thrown error's, or pg-boss's own (`{value: {message}}`, e.g. "job heartbeat timeout"). */
function errorMessage(output: unknown): string {
  if (output && typeof output === 'object' && 'message' in output && typeof output.message === 'string') {
    return output.message;
  }
  if (output && typeof output === 'object' && 'value' in output) {
    const inner = errorMessage(output.value);
    if (inner && !inner.startsWith('{')) return inner;
  }
  return output === null || output === undefined ? '' : JSON.stringify(output);
}
