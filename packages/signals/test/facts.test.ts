// Facts under concurrency and while pending: a recompute that read older inputs never overwrites a
// newer fact (the interleaving is forced by holding one recompute just before it stores its fact),
// and readFact tells "pending" (202) from "unknown" (404) and waits for a recompute in this or
// another process.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { StellaError } from '@stella/core';
import type { BlobStore, Registry } from '@stella/platform';
import { testBackend } from '@stella/testkit';
import { readRuntimeStream, runtimeSpoolDir, runtimeStreamLimits } from '../src/runtime/stream.ts';
import type { Signals } from '../src/service.ts';
import { type Harness, sampleGraph, secondService, startHarness, withPut } from './harness.ts';

const TENANT = 'acme';
const ndjson = (events: unknown[]) => Buffer.from(events.map((e) => `${JSON.stringify(e)}\n`).join(''));

/** A BlobStore that can hold the next fact write until released: the point between compute and commit. */
function holdingBlobs(inner: BlobStore) {
  let hold: { reached: () => void; released: Promise<void> } | undefined;
  const store = withPut(inner, async (namespace, body, options) => {
    if (namespace === 'reachability/facts' && hold) {
      const current = hold;
      hold = undefined;
      current.reached();
      await current.released;
    }
    return inner.put(namespace, body, options);
  });
  return {
    store,
    /** The next recompute to store a fact stops there; `reached` resolves when it does. */
    holdNextFactWrite() {
      let reached!: () => void;
      let release!: () => void;
      const reachedPromise = new Promise<void>((resolve) => {
        reached = resolve;
      });
      hold = { reached, released: new Promise<void>((resolve) => (release = resolve)) };
      return { reached: reachedPromise, release };
    },
  };
}

async function waiters(metrics: Registry): Promise<number> {
  const metric = metrics.getSingleMetric('stella_signals_fact_waiters');
  return (await metric!.get()).values[0]?.value ?? 0;
}

/** Polls the waiters gauge until `n` requests wait (they have read the fact once and sleep). */
async function untilWaiting(metrics: Registry, n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await waiters(metrics)) < n) {
    assert.ok(Date.now() < deadline, `${n} waiter(s) expected`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe(`reachability facts under concurrent recomputes and while pending, on ${testBackend()}`, () => {
  let h: Harness;
  let worker: Signals;
  let workerBlobs: ReturnType<typeof holdingBlobs>;
  let callgraphId = '';

  const ingest = async (subject: string, events: unknown[], target: { callgraphId?: string; graphHash?: string }) => {
    const batch = await readRuntimeStream(Readable.from([ndjson(events)]), {
      gzip: false,
      limits: {
        ...runtimeStreamLimits(h.config, new Date('2026-01-02T03:04:05.000Z')),
        maxUploadBytes: 1024 * 1024,
        maxDecompressedBytes: 1024 * 1024,
        maxLineBytes: 4096,
        maxEvents: 1000,
      },
      spoolDir: runtimeSpoolDir(h.config),
    });
    try {
      return await h.signals.ingestRuntime(TENANT, { ...target, subject: { scanId: subject }, batch });
    } finally {
      await batch.dispose();
    }
  };

  before(async () => {
    h = await startHarness();
    // A second service on the same database, as a worker process beside the API would be.
    workerBlobs = holdingBlobs(h.blobs);
    worker = secondService(h, { blobs: workerBlobs.store });
    callgraphId = (await h.signals.ingestCallgraph(TENANT, sampleGraph())).callgraphId;
  });
  after(() => h.close());

  test('an automatic recompute that read the inputs before a recompute with explicit targets does not overwrite its fact', async () => {
    await ingest('race-1', [{ symbolId: 'app:handler', hitCount: 2 }], { callgraphId });
    // The queued recompute of that batch (the worker's job, `recompute(tenant, {subjectKey})`) reads
    // the subject without targets, computes, and is held just before storing its fact ...
    const hold = workerBlobs.holdNextFactWrite();
    const job = worker.recompute(TENANT, { subjectKey: 'race-1' });
    await hold.reached;
    // ... while a caller recomputes with explicit targets and waits for the answer (wait: true).
    const asked = await h.signals.recompute(TENANT, { subjectKey: 'race-1', targets: ['lib:vulnSink', 'lib:helper'] });
    const answer = asked.subjects[0]!;
    assert.equal(answer.status, 'updated');
    hold.release();
    const jobReport = await job;

    // What a GET right after the caller's answer returns is that answer, whatever the job did after.
    const fact = await h.signals.getFact(TENANT, 'race-1');
    assert.equal(fact.digest, answer.digest);
    assert.equal(fact.factVersion, answer.factVersion);
    const document = fact.document as { states: { target: string }[]; provenance: { targetsSource: string } };
    assert.deepEqual(document.states.map((s) => s.target).sort(), ['lib:helper', 'lib:vulnSink']);
    assert.equal(document.provenance.targetsSource, 'request');
    // The job noticed the new targets, computed again from them and found the fact current.
    assert.deepEqual(jobReport.subjects, [
      { subjectKey: 'race-1', status: 'unchanged', factVersion: answer.factVersion, digest: answer.digest },
    ]);
  });

  test('a recompute whose subject gets a runtime batch while it computes computes again, so its answer is the stored fact', async () => {
    await ingest('race-2', [{ symbolId: 'app:handler', hitCount: 1 }], { callgraphId });
    const hold = workerBlobs.holdNextFactWrite();
    const asked = worker.recompute(TENANT, { subjectKey: 'race-2', targets: ['lib:vulnSink'] });
    await hold.reached;
    await ingest('race-2', [{ symbolId: 'lib:vulnSink', hitCount: 5 }], { callgraphId });
    hold.release();
    const answer = (await asked).subjects[0]!;
    const fact = await h.signals.getFact(TENANT, 'race-2');
    assert.equal(answer.status, 'updated');
    assert.equal(fact.digest, answer.digest);
    const document = fact.document as { runtimeFacts: { totalHits: number }; states: { state: string }[] };
    assert.equal(document.runtimeFacts.totalHits, 6, 'the fact includes the batch that arrived mid-way');
    assert.equal(document.states[0]!.state, 'ConfirmedReachable');
  });

  test('a subject whose inputs change on every try is reported superseded after three, and nothing stale is stored', async () => {
    await ingest('race-3', [{ symbolId: 'app:handler', hitCount: 1 }], { callgraphId });
    let hold = workerBlobs.holdNextFactWrite();
    const asked = worker.recompute(TENANT, { subjectKey: 'race-3' });
    for (let attempt = 1; attempt <= 3; attempt++) {
      await hold.reached;
      await ingest('race-3', [{ symbolId: 'app:main', hitCount: attempt }], { callgraphId });
      const release = hold.release;
      // Armed before releasing: the next try stops at the same point.
      if (attempt < 3) hold = workerBlobs.holdNextFactWrite();
      release();
    }
    assert.deepEqual((await asked).subjects, [{ subjectKey: 'race-3', status: 'superseded' }]);
    const answer = await h.signals.readFact(TENANT, 'race-3');
    assert.equal(answer.status, 'pending', 'no fact from inputs that were already outdated');
    // The recompute the last batch queues (here: run by hand) writes the fact of all four batches.
    await h.signals.recompute(TENANT, { subjectKey: 'race-3' });
    const fact = await h.signals.getFact(TENANT, 'race-3');
    assert.equal((fact.document as { runtimeFacts: { totalHits: number } }).runtimeFacts.totalHits, 7);
  });

  test('a subject nothing was accepted for is not found; one whose runtime facts were accepted is pending until its recompute', async () => {
    await assert.rejects(
      h.signals.readFact(TENANT, 'nobody'),
      (e: StellaError) => e instanceof StellaError && e.code === 'ERR_SIGNALS_FACT_NOT_FOUND' && e.status === 404,
    );
    const accepted = await ingest('pending-1', [{ symbolId: 'app:main', hitCount: 1 }], { callgraphId });
    const pending = await h.signals.readFact(TENANT, 'pending-1');
    assert.equal(pending.status, 'pending');
    assert.ok(pending.status === 'pending');
    assert.deepEqual(
      { ...pending, since: typeof pending.since },
      {
        subjectKey: accepted.subjectKey,
        status: 'pending',
        waitingFor: 'recompute',
        since: 'string',
        retryAfterSeconds: 2,
        factVersion: null,
      },
    );
    assert.ok(!Number.isNaN(Date.parse(pending.since)));
    // A bounded wait with nothing computing it ends pending.
    const started = Date.now();
    const stillPending = await h.signals.readFact(TENANT, 'pending-1', { waitSeconds: 1 });
    assert.equal(stillPending.status, 'pending');
    assert.ok(Date.now() - started >= 900, 'waited about a second');

    // A worker in another process computes it: the waiting read sees it on its next poll.
    const waiting = h.signals.readFact(TENANT, 'pending-1', { waitSeconds: 20 });
    await untilWaiting(h.metrics, 1);
    const computed = (await worker.recompute(TENANT, { subjectKey: 'pending-1' })).subjects[0]!;
    const ready = await waiting;
    assert.equal(ready.status, 'ready');
    assert.ok(ready.status === 'ready');
    assert.equal(ready.fact.digest, computed.digest);
    assert.equal(await waiters(h.metrics), 0);

    // A newer batch: without wait the older fact is still answered; with wait, the fact covering it.
    await ingest('pending-1', [{ symbolId: 'app:admin', hitCount: 1 }], { callgraphId });
    const older = await h.signals.readFact(TENANT, 'pending-1');
    assert.ok(older.status === 'ready');
    assert.equal(older.fact.factVersion, computed.factVersion);
    const next = h.signals.readFact(TENANT, 'pending-1', { waitSeconds: 20 });
    await untilWaiting(h.metrics, 1);
    // In this process: the recompute wakes the waiting read as it commits.
    const newer = (await h.signals.recompute(TENANT, { subjectKey: 'pending-1' })).subjects[0]!;
    const covered = await next;
    assert.ok(covered.status === 'ready');
    assert.equal(covered.fact.factVersion, computed.factVersion! + 1);
    assert.equal(covered.fact.digest, newer.digest);
  });

  test('runtime facts parked for a graph not ingested yet are pending on the callgraph; an aborted wait answers at once', async () => {
    const graphHash = `sha256:${'ab'.repeat(32)}`;
    const parked = await ingest('orphan-1', [{ symbolId: 'app:main', hitCount: 1 }], { graphHash });
    assert.equal(parked.status, 'orphan');
    const pending = await h.signals.readFact(TENANT, 'orphan-1');
    assert.ok(pending.status === 'pending');
    assert.equal(pending.waitingFor, 'callgraph');
    assert.equal(pending.graphHash, graphHash);
    assert.equal(pending.retryAfterSeconds, 30);

    const controller = new AbortController();
    const started = Date.now();
    const waiting = h.signals.readFact(TENANT, 'orphan-1', { waitSeconds: 30, signal: controller.signal });
    await untilWaiting(h.metrics, 1);
    controller.abort();
    assert.equal((await waiting).status, 'pending');
    assert.ok(Date.now() - started < 10_000, 'the abort ended the wait');
  });
});
