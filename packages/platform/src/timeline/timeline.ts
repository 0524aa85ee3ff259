// timeline.append(): the module API every room uses to record a state change in the same
// transaction as the change, plus the queries behind the timeline routes and CLI.
import { type Clock, Errors, isTenantId, newUlid, StellaError } from '@stella/core';
import type { Db, Queryable } from '../db/index.ts';
import { eventHash, GENESIS_HASH, type TimelineEvent } from './chain.ts';
import {
  type EventFilter,
  insertEvent,
  insertOutbox,
  lockHead,
  selectEventById,
  selectEvents,
} from './sql/timeline.ts';

export interface TimelineEntry {
  category: string;
  kind: string;
  details: Record<string, unknown>;
  traceId?: string | undefined;
}

export interface Timeline {
  /** Appends inside the caller's transaction, which must have app.tenant = tenant. */
  append(tx: Queryable, tenant: string, entry: TimelineEntry): Promise<TimelineEvent>;
  /** Appends in a transaction of its own. */
  record(tenant: string, entry: TimelineEntry): Promise<TimelineEvent>;
  /** Queues an event for subscribers in the caller's transaction (delivered by the outbox dispatcher). */
  publish(tx: Queryable, tenant: string, topic: string, payload: unknown): Promise<string>;
  list(tenant: string, filter: EventFilter): Promise<TimelineEvent[]>;
  get(tenant: string, eventId: string): Promise<TimelineEvent | undefined>;
  /** Every event of a tenant in chain order, in pages, for export and verification. */
  stream(tenant: string, filter: Omit<EventFilter, 'limit' | 'afterSeq'>): AsyncIterable<TimelineEvent>;
}

const CATEGORY_RE = /^[a-z][a-z0-9_-]{0,63}$/;
const KIND_RE = /^[a-z][a-z0-9_.-]{0,127}$/;
const EXPORT_PAGE = 500;

export function createTimeline(db: Db, clock: Clock): Timeline {
  const append = async (tx: Queryable, tenant: string, entry: TimelineEntry): Promise<TimelineEvent> => {
    if (!isTenantId(tenant)) throw new StellaError(Errors.validation, `invalid tenant id ${JSON.stringify(tenant)}`);
    if (!CATEGORY_RE.test(entry.category)) {
      throw new StellaError(Errors.validation, 'category must match ^[a-z][a-z0-9_-]*$ (e.g. runtime, evidence)');
    }
    if (!KIND_RE.test(entry.kind)) {
      throw new StellaError(Errors.validation, 'kind must match ^[a-z][a-z0-9_.-]*$ (e.g. reach.runtime.ingested)');
    }
    const head = await lockHead(tx, tenant, GENESIS_HASH);
    const unsigned = {
      tenant,
      seq: head.seq + 1,
      eventId: newUlid(),
      occurredAt: clock.now().toISOString(),
      category: entry.category,
      kind: entry.kind,
      details: entry.details,
      traceId: entry.traceId ?? null,
      prevHash: head.hash,
    };
    const event: TimelineEvent = { ...unsigned, hash: eventHash(unsigned) };
    await insertEvent(tx, event);
    return event;
  };

  return {
    append,
    record: (tenant, entry) => db.transaction((tx) => append(tx, tenant, entry), { tenant }),
    async publish(tx, tenant, topic, payload) {
      const id = newUlid();
      await insertOutbox(tx, { tenant, id, topic, payload });
      return id;
    },
    list: (tenant, filter) => db.transaction((tx) => selectEvents(tx, tenant, filter), { tenant }),
    get: (tenant, eventId) => db.transaction((tx) => selectEventById(tx, tenant, eventId), { tenant }),
    async *stream(tenant, filter) {
      let afterSeq = 0;
      for (;;) {
        const page = await db.transaction(
          (tx) => selectEvents(tx, tenant, { ...filter, afterSeq, limit: EXPORT_PAGE }),
          { tenant },
        );
        yield* page;
        if (page.length < EXPORT_PAGE) return;
        afterSeq = page.at(-1)!.seq;
      }
    },
  };
}
