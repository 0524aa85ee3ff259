// The queue's Prometheus figures move with real jobs on either backend: attempts by outcome, failures
// by error code, attempt durations, dead letters, and the age of the oldest job ready but not taken
// (backpressure), which ignores jobs deliberately delayed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Errors, StellaError } from '@stella/core';
import { type TestDb, testBackend, testDb, waitFor } from '@stella/testkit';
import type { Registry } from 'prom-client';
import { createMetricsRegistry } from '../src/metrics/index.ts';
import { createJobQueue, type JobQueue, queueAttemptMetrics, registerQueueMetrics } from '../src/queue/index.ts';

// Covers a few of pg-boss's polling rounds (0.5 s each here) with room to spare.
const DEADLINE_MS = 20_000;

/** The value of one series, or undefined when it does not exist (yet). */
async function sample(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric, `${name} is registered`);
  const { values } = await metric.get();
  const found = values.find(
    (v) =>
      Object.entries(labels).every(([k, value]) => v.labels[k] === value) &&
      Object.keys(v.labels).length >= Object.keys(labels).length,
  );
  return found?.value;
}

describe('queue metrics: error codes as labels', () => {
  test('registered codes and foreign identifiers are kept, free text and missing codes are not', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const attempt = queueAttemptMetrics(registry);
    const failed = (error: unknown) => attempt({ queue: 'export.run', outcome: 'failed', error, seconds: 0.2 });
    failed(new StellaError(Errors.notFound));
    failed(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    failed(Object.assign(new Error('odd'), { code: 'not a code: has spaces' }));
    failed(new Error('plain'));
    failed('a string thrown');
    // Asked twice (a second server on one registry), the same counters are returned.
    queueAttemptMetrics(registry)({ queue: 'export.run', outcome: 'completed', seconds: 0.1 });

    const failures = await registry.getSingleMetric('stella_queue_job_failures_total')!.get();
    assert.deepEqual(Object.fromEntries(failures.values.map((v) => [v.labels.error_code, v.value])), {
      ERR_NOT_FOUND: 1,
      ECONNRESET: 1,
      other: 1,
      none: 2,
    });
    assert.equal(await sample(registry, 'stella_queue_job_attempts_total', { outcome: 'failed' }), 5);
    assert.equal(await sample(registry, 'stella_queue_job_attempts_total', { outcome: 'completed' }), 1);
  });

  test('foreign codes beyond the bound are reported as other', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const attempt = queueAttemptMetrics(registry);
    for (let n = 0; n < 40; n++) {
      attempt({ queue: 'q', outcome: 'failed', error: Object.assign(new Error('x'), { code: `E${n}` }), seconds: 0 });
    }
    const failures = await registry.getSingleMetric('stella_queue_job_failures_total')!.get();
    assert.equal(failures.values.length, 17, 'sixteen foreign codes and other');
    assert.equal(failures.values.find((v) => v.labels.error_code === 'other')?.value, 24);
  });
});

describe(`queue metrics on ${testBackend()}`, () => {
  let t: TestDb;
  let queue: JobQueue;
  const registry = createMetricsRegistry({ defaultMetrics: false });

  before(async () => {
    t = await testDb();
    queue = createJobQueue(t.db, {
      // No retries: each failure is dead-lettered at once.
      retryLimit: 0,
      retryDelaySeconds: 1,
      retryDelayMaxSeconds: 60,
      schema: 'q_metrics',
      pollingIntervalSeconds: 0.5,
      onAttempt: queueAttemptMetrics(registry),
    });
    registerQueueMetrics(registry, queue);
    await queue.start();
  });
  after(async () => {
    await queue.stop({ graceMs: 1000 });
    await t.close();
  });

  test('backpressure, attempts, failures by code, durations and dead letters move with real jobs', async () => {
    await queue.define('ingest');
    await queue.define('nightly');
    // A job deliberately delayed is queued but not waiting on anyone.
    await queue.send('nightly', {}, { startAfterSeconds: 3600 });
    for (const kind of ['ok', 'coded', 'plain']) await queue.send('ingest', { kind });

    // No worker yet: the ready jobs age.
    await waitFor(
      'the oldest ready ingest job to age',
      async () => ((await sample(registry, 'stella_queue_oldest_ready_seconds', { queue: 'ingest' })) ?? 0) > 0,
      { deadlineMs: DEADLINE_MS },
    );
    assert.equal(await sample(registry, 'stella_queue_jobs', { queue: 'ingest', state: 'queued' }), 3);
    assert.equal(await sample(registry, 'stella_queue_jobs', { queue: 'nightly', state: 'queued' }), 1);
    assert.equal(await sample(registry, 'stella_queue_oldest_ready_seconds', { queue: 'nightly' }), 0);

    await queue.work<{ kind: string }>('ingest', async (job) => {
      if (job.data.kind === 'coded') throw new StellaError(Errors.validation, 'bad record');
      if (job.data.kind === 'plain') throw new Error('upstream closed the connection');
    });
    await waitFor(
      'three attempts',
      async () =>
        (await registry.getSingleMetricAsString('stella_queue_job_duration_seconds')).includes(
          'stella_queue_job_duration_seconds_count{queue="ingest"} 3',
        ),
      { deadlineMs: DEADLINE_MS },
    );
    assert.equal(
      await sample(registry, 'stella_queue_job_attempts_total', { queue: 'ingest', outcome: 'completed' }),
      1,
    );
    assert.equal(await sample(registry, 'stella_queue_job_attempts_total', { queue: 'ingest', outcome: 'failed' }), 2);
    assert.equal(
      await sample(registry, 'stella_queue_job_failures_total', { queue: 'ingest', error_code: 'ERR_VALIDATION' }),
      1,
    );
    assert.equal(await sample(registry, 'stella_queue_job_failures_total', { queue: 'ingest', error_code: 'none' }), 1);

    await waitFor(
      'both failures in the dead-letter queue',
      async () => (await sample(registry, 'stella_queue_jobs', { queue: 'ingest', state: 'dead_letter' })) === 2,
      { deadlineMs: DEADLINE_MS },
    );
    assert.equal(await sample(registry, 'stella_queue_jobs', { queue: 'ingest', state: 'queued' }), 0);
    assert.equal(await sample(registry, 'stella_queue_oldest_ready_seconds', { queue: 'ingest' }), 0);
  });
});
