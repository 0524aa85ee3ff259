// Delivers outbox rows to in-process subscribers at least once. Rows are claimed in a short
// transaction and handled outside it, so a handler may use the database (on PGlite a handler inside
// the claiming transaction would wait on itself forever).
import type { Db } from '../db/index.ts';
import { claimPendingOutbox, markOutbox } from './sql/timeline.ts';

export type OutboxHandler = (message: { tenant: string; id: string; topic: string; payload: unknown }) => Promise<void>;

export interface OutboxDispatcher {
  /** Subscribes to one topic, or to every topic with '*'. */
  subscribe(topic: string, handler: OutboxHandler): void;
  /** Delivers what is pending now; returns how many rows were delivered. */
  drain(): Promise<number>;
  start(intervalMs: number): void;
  stop(): Promise<void>;
}

// A claim longer than any sane handler: if the process dies mid-delivery the row is retried after it.
const CLAIM_SECONDS = 60;
const BATCH = 100;

export function createOutboxDispatcher(db: Db, onError: (error: unknown) => void): OutboxDispatcher {
  const handlers = new Map<string, OutboxHandler[]>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;

  const drainOnce = async (): Promise<number> => {
    const rows = await db.transaction((tx) => claimPendingOutbox(tx, BATCH, CLAIM_SECONDS), { tenant: '*' });
    let delivered = 0;
    for (const row of rows) {
      const subscribers = [...(handlers.get(row.topic) ?? []), ...(handlers.get('*') ?? [])];
      try {
        for (const handler of subscribers) await handler(row);
        await db.transaction((tx) => markOutbox(tx, row, { delivered: true }), { tenant: '*' });
        delivered++;
      } catch (error) {
        // Backoff doubles per attempt, capped at an hour like the spec's notification retry policy.
        const retryAfterSeconds = Math.min(3600, 5 * 2 ** Math.min(row.attempts, 10));
        await db.transaction(
          (tx) => markOutbox(tx, row, { delivered: false, error: (error as Error).message, retryAfterSeconds }),
          { tenant: '*' },
        );
        onError(error);
      }
    }
    return delivered;
  };

  const drain = () => {
    running ??= drainOnce().finally(() => {
      running = undefined;
    });
    return running;
  };

  return {
    subscribe(topic, handler) {
      handlers.set(topic, [...(handlers.get(topic) ?? []), handler]);
    },
    drain,
    start(intervalMs) {
      timer ??= setInterval(() => {
        drain().catch(onError);
      }, intervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running?.catch(() => {});
    },
  };
}
