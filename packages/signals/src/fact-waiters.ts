// Requests waiting for a subject's fact (`GET /signals/facts/{subjectKey}?wait=`): a recompute in
// this process wakes them as soon as it commits; a recompute in another process (scaled out: API and
// workers apart) is seen by the waiter's next poll of the database.

export interface FactWaiter {
  /**
   * Resolves when the subject's fact was settled in this process since the previous call, or after
   * `ms`, or when `signal` aborts, whichever comes first.
   */
  next(ms: number, signal?: AbortSignal): Promise<void>;
  close(): void;
}

export interface FactWaiters {
  /** Starts listening before the caller reads the fact, so a settle in between is not missed. */
  subscribe(tenant: string, subjectKey: string): FactWaiter;
  wake(tenant: string, subjectKey: string): void;
  /** Requests waiting now (gauge `stella_signals_fact_waiters`). */
  count(): number;
}

export function createFactWaiters(): FactWaiters {
  const bySubject = new Map<string, Set<() => void>>();
  const keyOf = (tenant: string, subjectKey: string) => `${tenant}\u0000${subjectKey}`;
  let waiting = 0;

  return {
    subscribe(tenant, subjectKey) {
      const key = keyOf(tenant, subjectKey);
      let woken = false;
      let resolveNext: (() => void) | undefined;
      const onWake = () => {
        woken = true;
        resolveNext?.();
      };
      const listeners = bySubject.get(key) ?? new Set<() => void>();
      bySubject.set(key, listeners);
      listeners.add(onWake);
      waiting++;
      let closed = false;
      return {
        next(ms, signal) {
          if (woken || signal?.aborted) {
            woken = false;
            return Promise.resolve();
          }
          return new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(timer);
              signal?.removeEventListener('abort', done);
              resolveNext = undefined;
              woken = false;
              resolve();
            };
            const timer = setTimeout(done, ms);
            signal?.addEventListener('abort', done, { once: true });
            resolveNext = done;
          });
        },
        close() {
          if (closed) return;
          closed = true;
          waiting--;
          resolveNext?.();
          listeners.delete(onWake);
          if (listeners.size === 0 && bySubject.get(key) === listeners) bySubject.delete(key);
        },
      };
    },
    wake(tenant, subjectKey) {
      for (const onWake of bySubject.get(keyOf(tenant, subjectKey)) ?? []) onWake();
    },
    count: () => waiting,
  };
}
