// The job queue against a real database on either backend: delivery, backoff and dead letters,
// per-key concurrency, graceful drain, and two processes sharing one schema.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { type TestDb, testBackend, testDb, waitFor } from '@stella/testkit';
import type { Db } from '../src/db/index.ts';
import { createJobQueue, type JobQueue, type QueueOptions } from '../src/queue/index.ts';

// pg-boss's minimum; anything slower makes every hand-off in these tests wait longer.
const POLLING_INTERVAL_SECONDS = 0.5;
// Covers a few polling rounds plus the retry test's backoff (1-2 s, then 2-4 s) with room to spare.
const DEADLINE_MS = 20_000;
// How long a handler "works" in the concurrency tests: several polling rounds would be needed for
// the four workers to miss each other, so overlaps that are allowed do happen.
const WORK_MS = 400;

describe(`job queue on ${testBackend()}`, () => {
  let t: TestDb;
  const opened: JobQueue[] = [];
  let errors: Error[] = [];

  function openQueue(schema: string, db: Db = t.db, overrides: Partial<QueueOptions> = {}): JobQueue {
    const queue = createJobQueue(db, {
      retryLimit: 2,
      retryDelaySeconds: 1,
      retryDelayMaxSeconds: 60,
      schema,
      pollingIntervalSeconds: POLLING_INTERVAL_SECONDS,
      onError: (error) => errors.push(error),
      ...overrides,
    });
    opened.push(queue);
    return queue;
  }

  async function jobState(schema: string, id: string): Promise<string | undefined> {
    const { rows } = await t.db.query<{ state: string }>(`select state from ${schema}.job where id = $1`, [id]);
    return rows[0]?.state;
  }

  before(async () => {
    t = await testDb();
  });
  after(async () => {
    for (const queue of opened) await queue.stop({ graceMs: 1000 });
    await t.close();
  });

  test('a sent job reaches its handler and completes', async () => {
    errors = [];
    const queue = openQueue('q_basic');
    await queue.start();
    await queue.define('scan');
    const received: unknown[] = [];
    await queue.work('scan', async (job) => {
      received.push(job.data);
    });
    const id = await queue.send('scan', { image: 'registry.local/app@sha256:ab' });
    assert.ok(id);
    await waitFor('the job to complete', async () => (await jobState('q_basic', id)) === 'completed', {
      deadlineMs: DEADLINE_MS,
    });
    assert.deepEqual(received, [{ image: 'registry.local/app@sha256:ab' }]);
    assert.deepEqual(await queue.stats(), [
      { queue: 'scan', queued: 0, active: 0, deadLetters: 0, oldestReadySeconds: 0 },
    ]);
    await queue.stop();
    assert.deepEqual(errors, []);
  });

  test('a failing job is retried with growing delays, dead-lettered, and retried from the dead-letter queue', async () => {
    errors = [];
    const queue = openQueue('q_retry');
    await queue.start();
    await queue.define('notify');
    const attempts: { at: number; retryCount: number }[] = [];
    let failing = true;
    let succeeded = 0;
    await queue.work('notify', async (job) => {
      attempts.push({ at: Date.now(), retryCount: job.retryCount });
      if (failing) throw new Error('webhook endpoint unreachable');
      succeeded++;
    });
    await queue.send('notify', { channel: 'ops' });

    const [letter] = await waitFor(
      'a dead letter',
      async () => {
        const letters = await queue.deadLetters();
        return letters.length > 0 && letters;
      },
      { deadlineMs: DEADLINE_MS },
    );
    assert.deepEqual(
      attempts.map((a) => a.retryCount),
      [0, 1, 2],
    );
    // Backoff doubles from retryDelay (with up to 100 % jitter): at least 1 s, then at least 2 s.
    // A fixed 1 s delay would fail the second bound. 50 ms absorbs clock reads on either side.
    const [first, second, third] = attempts.map((a) => a.at) as [number, number, number];
    assert.ok(second - first >= 1000 - 50, `first retry came after ${second - first} ms`);
    assert.ok(third - second >= 2000 - 50, `second retry came after ${third - second} ms`);
    assert.equal(letter?.queue, 'notify');
    assert.equal(letter?.error, 'webhook endpoint unreachable');
    assert.equal(letter?.retryCount, 2);
    assert.deepEqual(letter?.data, { channel: 'ops' });
    assert.ok(letter?.failedAt instanceof Date);
    assert.equal((await queue.stats())[0]?.deadLetters, 1);

    failing = false;
    assert.equal(await queue.retryDeadLetters({ queue: 'notify', ids: [letter!.id] }), 1);
    await waitFor('the redriven job to succeed', () => succeeded === 1, { deadlineMs: DEADLINE_MS });
    assert.equal(attempts.at(-1)?.retryCount, 0, 'a redriven job starts with a fresh retry budget');
    assert.deepEqual(await queue.deadLetters(), []);
    assert.equal((await queue.stats())[0]?.deadLetters, 0);
    await queue.stop();
    assert.deepEqual(errors, []);
  });

  test('onDeadLetter hands each dead letter to its handler once per process, retries a failed hand-over, and keeps them', async () => {
    errors = [];
    const queue = openQueue('q_watch', t.db, { superviseIntervalSeconds: 1 });
    await queue.start();
    await queue.define('render', { retryLimit: 0 });
    await queue.work('render', async () => {
      throw new Error('renderer crashed');
    });
    for (const n of [1, 2, 3]) await queue.send('render', { n });
    await waitFor('three dead letters', async () => (await queue.deadLetters({ queue: 'render' })).length === 3, {
      deadlineMs: DEADLINE_MS,
    });
    const seen: unknown[] = [];
    let flaky = true;
    queue.onDeadLetter('render', async (letter) => {
      // The first call fails: reported, and that letter is tried again on the next pass.
      if (flaky) {
        flaky = false;
        throw new Error('database briefly unavailable');
      }
      seen.push({ data: letter.data, error: letter.error, queue: letter.queue });
    });
    await waitFor('every letter handled', () => seen.length === 3, { deadlineMs: DEADLINE_MS });
    // Two more passes: nothing is handed over twice.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    // Oldest first; the three failed at about the same moment, so their order is not asserted.
    assert.deepEqual(seen.map((s) => (s as { data: { n: number } }).data.n).sort(), [1, 2, 3]);
    for (const s of seen)
      assert.deepEqual(
        { ...(s as object), data: undefined },
        { data: undefined, error: 'renderer crashed', queue: 'render' },
      );
    assert.deepEqual(
      errors.map((e) => e.message),
      ['database briefly unavailable'],
    );
    assert.equal((await queue.deadLetters({ queue: 'render' })).length, 3, 'the letters stay for operators');
    await queue.stop();
  });

  test('jobs with the same key never overlap under concurrencyKeyLimit 1; other keys run alongside', async () => {
    errors = [];
    const queue = openQueue('q_keys');
    await queue.start();
    await queue.define('export', { concurrencyKeyLimit: 1 });
    const active = new Map<string, number>();
    const maxActive = new Map<string, number>();
    let keysOverlapped = false;
    let done = 0;
    // Queued before the workers start, so their first fetches all race for tenant a's jobs at once.
    for (const tenant of ['a', 'a', 'a', 'a', 'b']) await queue.send('export', { tenant }, { key: tenant });
    await queue.work<{ tenant: string }>(
      'export',
      async (job) => {
        const key = job.data.tenant;
        active.set(key, (active.get(key) ?? 0) + 1);
        maxActive.set(key, Math.max(maxActive.get(key) ?? 0, active.get(key)!));
        if ((active.get('a') ?? 0) > 0 && (active.get('b') ?? 0) > 0) keysOverlapped = true;
        await delay(WORK_MS);
        active.set(key, active.get(key)! - 1);
        done++;
      },
      { concurrency: 4 },
    );
    await waitFor('all five jobs', () => done === 5, { deadlineMs: DEADLINE_MS });
    assert.equal(maxActive.get('a'), 1, 'two jobs of tenant a ran at once');
    assert.ok(keysOverlapped, 'tenant b never ran alongside tenant a');
    await queue.stop();
    assert.deepEqual(errors, []);
  });

  test('stop() waits for a running handler to finish', async () => {
    errors = [];
    const queue = openQueue('q_drain');
    await queue.start();
    await queue.define('digest');
    let started = false;
    let finished = false;
    await queue.work('digest', async () => {
      started = true;
      await delay(WORK_MS);
      finished = true;
    });
    const id = await queue.send('digest', { blob: 'sha256:cd' });
    await waitFor('the handler to start', () => started, { deadlineMs: DEADLINE_MS });
    await queue.stop({ graceMs: 5000 });
    assert.equal(finished, true, 'stop() returned before the handler finished');
    assert.equal(await jobState('q_drain', id!), 'completed');
    assert.deepEqual(errors, []);
  });

  test('an exclusive queue refuses a duplicate singletonKey; crons are stored; misuse is refused', async () => {
    errors = [];
    const queue = openQueue('q_policy');
    await queue.start();
    await queue.define('retention', { policy: 'exclusive' });
    assert.ok(await queue.send('retention', {}, { singletonKey: 'sweep', startAfterSeconds: 3600 }));
    assert.equal(await queue.send('retention', {}, { singletonKey: 'sweep' }), null);
    assert.deepEqual(await queue.stats(), [
      { queue: 'retention', queued: 1, active: 0, deadLetters: 0, oldestReadySeconds: 0 },
    ]);
    await queue.schedule('retention', '0 3 * * *', { olderThanDays: 365 });
    const schedules = await t.db.query(`select cron, data from q_policy.schedule where name = 'retention'`);
    assert.deepEqual(schedules.rows, [{ cron: '0 3 * * *', data: { olderThanDays: 365 } }]);
    await assert.rejects(
      queue.work('undefined-queue', async () => {}),
      /must be defined in this process before work\(\)/,
    );
    await assert.rejects(queue.define('x.dlq'), /reserved/);
    assert.deepEqual(await queue.deadLetters({ queue: 'no-such-queue' }), []);
    assert.deepEqual(await queue.deadLetters({ queue: "bad'name" }), []);
    assert.equal(await queue.retryDeadLetters({ ids: ['not-a-uuid'] }), 0);
    await queue.stop();
    assert.deepEqual(errors, []);
  });

  test('two processes start at once and share the queue', async (ctx) => {
    if (!t.db.capabilities.multiProcess) {
      ctx.skip('needs multiProcess');
      return;
    }
    errors = [];
    const producer = openQueue('q_shared');
    const consumer = openQueue('q_shared', await t.reopen());
    // Neither has installed the schema yet, so both race to create it.
    await Promise.all([producer.start(), consumer.start()]);
    await producer.define('ingest');
    await consumer.define('ingest');
    const received: unknown[] = [];
    await consumer.work('ingest', async (job) => {
      received.push(job.data);
    });
    const id = await producer.send('ingest', { advisory: 'GHSA-xxxx' });
    await waitFor('the other process to work the job', async () => (await jobState('q_shared', id!)) === 'completed', {
      deadlineMs: DEADLINE_MS,
    });
    assert.deepEqual(received, [{ advisory: 'GHSA-xxxx' }]);
    await Promise.all([producer.stop(), consumer.stop()]);
    assert.deepEqual(errors, []);
  });
});
