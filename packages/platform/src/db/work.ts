// The unit of work a database call runs for (an HTTP request or a job) and the signal that cancels it:
// the request deadline or the end of the shutdown grace period. The Db backends read the current work
// from async context, so no room has to thread a signal through its calls to be cancellable.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface Work {
  /** Request id or job id: what an operator greps the logs for. */
  readonly id: string;
  /** `GET /api/x` or `job export.run`. */
  readonly what: string;
  /** Date.now() when it began. */
  readonly startedAt: number;
  readonly signal: AbortSignal;
  /** Date.now() after which the work is cancelled, when known; PostgreSQL transactions take the rest as statement_timeout. */
  deadlineAt: number | undefined;
  abort(reason: unknown): void;
}

export interface WorkTracker {
  /** Registers work as in flight until end() is called. */
  begin(id: string, what: string): Work & { end(): void };
  /** Work still in flight, oldest first. */
  inFlight(): Work[];
  /** Aborts every work in flight with reason; returns how many there were. */
  abortAll(reason: unknown): number;
}

const storage = new AsyncLocalStorage<Work | undefined>();

/** The work the calling code runs for, if any. */
export function currentWork(): Work | undefined {
  return storage.getStore();
}

/** Runs fn (and everything it starts) as part of work; undefined runs it outside any work. */
export function runInWork<T>(work: Work | undefined, fn: () => T): T {
  return storage.run(work, fn);
}

/** Throws the signal's reason once it fired: called before each statement, so cancelled work starts nothing new. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason;
}

/** `GET /stuck (request 01J…, 12.3 s)`, for the logs of a cut-off shutdown or deadline. */
export function describeWork(work: Work, now = Date.now()): string {
  return `${work.what} (${work.id}, ${((now - work.startedAt) / 1000).toFixed(1)} s)`;
}

export function createWorkTracker(): WorkTracker {
  const active = new Set<Work>();
  return {
    begin(id, what) {
      const controller = new AbortController();
      const work: Work & { end(): void } = {
        id,
        what,
        startedAt: Date.now(),
        signal: controller.signal,
        deadlineAt: undefined,
        abort: (reason) => controller.abort(reason),
        end: () => {
          active.delete(work);
        },
      };
      active.add(work);
      return work;
    },
    inFlight: () => [...active],
    abortAll(reason) {
      const works = [...active];
      for (const work of works) work.abort(reason);
      return works.length;
    },
  };
}
