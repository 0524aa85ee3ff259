// Queue metrics for Prometheus. Depth is read at scrape time so the gauges are never stale: queued,
// active and dead-lettered jobs, and the age of the oldest job ready but not taken (backpressure), per
// queue; the orchestrator alert rules in ops/prometheus watch them. Handler attempts are counted as
// they end, with the error code of each failure, so a dashboard can cluster failures by cause.
import { lookupError } from '@stella/core';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { labelBound, OTHER_LABEL } from '../metrics/index.ts';
import type { JobAttempt, JobQueue } from './queue.ts';

/** The error_code of a failure that carries no code at all (a plain Error, a string thrown). */
export const UNCODED = 'none';
/**
 * Codes outside stella's registry (Node's ECONNRESET, a PostgreSQL SQLSTATE) keep their name first
 * come, first served up to this many; more would let a misbehaving dependency add series without end.
 */
const FOREIGN_CODE_LABELS = 16;
// Jobs range from a millisecond outbox hand-off to an hour-long mirror export.
const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600];

export function registerQueueMetrics(registry: Registry, queue: JobQueue): void {
  if (registry.getSingleMetric('stella_queue_jobs')) return;
  // Both gauges read one stats() per scrape: the second waits on the first's query.
  let pending: ReturnType<JobQueue['stats']> | undefined;
  const stats = () => {
    pending ??= queue.stats().finally(() => {
      pending = undefined;
    });
    return pending;
  };
  new Gauge({
    name: 'stella_queue_jobs',
    help: 'Jobs per queue and state (queued, active, dead_letter)',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of await stats()) {
        this.set({ queue: s.queue, state: 'queued' }, s.queued);
        this.set({ queue: s.queue, state: 'active' }, s.active);
        this.set({ queue: s.queue, state: 'dead_letter' }, s.deadLetters);
      }
    },
  });
  new Gauge({
    name: 'stella_queue_oldest_ready_seconds',
    help: 'Age of the oldest job that could run now but no worker has taken (0 when none waits): backpressure',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of await stats()) this.set({ queue: s.queue }, s.oldestReadySeconds);
    },
  });
}

/**
 * The queue's `onAttempt` listener (QueueOptions): counts each handler attempt by outcome, each failure
 * by its error code, and times them. Queue names are fixed by the rooms, so they bound themselves.
 */
export function queueAttemptMetrics(registry: Registry): (attempt: JobAttempt) => void {
  const attempts =
    (registry.getSingleMetric('stella_queue_job_attempts_total') as Counter<'queue' | 'outcome'> | undefined) ??
    new Counter({
      name: 'stella_queue_job_attempts_total',
      help: 'Job handler attempts ended, by queue and outcome (completed, failed); a failed attempt is retried or dead-lettered',
      labelNames: ['queue', 'outcome'],
      registers: [registry],
    });
  const failures =
    (registry.getSingleMetric('stella_queue_job_failures_total') as Counter<'queue' | 'error_code'> | undefined) ??
    new Counter({
      name: 'stella_queue_job_failures_total',
      help: `Failed job attempts by queue and error code (an ERR_* code, a Node or SQL code, or ${UNCODED})`,
      labelNames: ['queue', 'error_code'],
      registers: [registry],
    });
  const duration =
    (registry.getSingleMetric('stella_queue_job_duration_seconds') as Histogram<'queue'> | undefined) ??
    new Histogram({
      name: 'stella_queue_job_duration_seconds',
      help: 'Duration of job handler attempts, by queue',
      labelNames: ['queue'],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    });
  const foreignCode = labelBound({ maxOthers: FOREIGN_CODE_LABELS });
  return (attempt) => {
    attempts.inc({ queue: attempt.queue, outcome: attempt.outcome });
    duration.observe({ queue: attempt.queue }, attempt.seconds);
    if (attempt.outcome === 'failed') failures.inc({ queue: attempt.queue, error_code: errorCode(attempt.error) });
  };

  function errorCode(error: unknown): string {
    const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
    if (typeof code !== 'string' || code === '') return UNCODED;
    if (lookupError(code)) return code;
    // A foreign code is an identifier; anything else (free text in a code field) is not a label.
    return /^[\w.-]{1,64}$/.test(code) ? foreignCode(code) : OTHER_LABEL;
  }
}
