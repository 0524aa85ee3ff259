// SPDX-License-Identifier: Apache-2.0
// What the service's parts share: tenant-scoped transactions, the per-run event log with its
// in-process wake-up, and the not-found error.
import { EventEmitter } from 'node:events';
import { type Clock, StellaError } from '@stella/core';
import type { Db, JobQueue, Queryable, SigningKeyStore, TenantBlobs, Timeline } from '@stella/platform';
import { ExportErrors } from '../errors.ts';
import { appendEvent, type EventRow } from '../sql/runs.ts';

export interface ExportServiceDeps {
  db: Db;
  queue: JobQueue;
  timeline: Timeline;
  clock: Clock;
  blobs: TenantBlobs;
  signing: SigningKeyStore;
  defaultRunsPerDay: number;
  /** export.maxQueuedRuns: queued runs per tenant beyond which submissions get ERR_EXPORT_003. */
  maxQueuedRuns?: number;
}

export interface ServiceCore {
  deps: ExportServiceDeps;
  /** Wakes SSE streams in this process when a run gets an event (other processes are polled). */
  bus: EventEmitter;
  tx<T>(tenant: string, fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Appends a run event in the caller's transaction. */
  emit(q: Queryable, tenant: string, runId: string, type: string, data: Record<string, unknown>): Promise<EventRow>;
  notFound(what: string): StellaError;
}

export function serviceCore(deps: ExportServiceDeps): ServiceCore {
  const bus = new EventEmitter();
  bus.setMaxListeners(0);
  return {
    deps,
    bus,
    tx: (tenant, fn) => deps.db.transaction(fn, { tenant }),
    async emit(q, tenant, runId, type, data) {
      const event = await appendEvent(q, tenant, runId, type, data);
      // Delivered after the caller's commit at the latest on the next poll; the nudge only saves a poll.
      queueMicrotask(() => bus.emit(runId));
      return event;
    },
    notFound: (what) => new StellaError(ExportErrors.notFound, `${what} not found for this tenant`),
  };
}
