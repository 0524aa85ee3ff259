import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig, type Module } from '@stella/platform';
import { scratchDir, testBackend } from '@stella/testkit';
import { modules, startServer } from '../../src/index.ts';
import { newDatabaseUrl } from '../helpers.ts';

test(`shutdown drains an in-flight request and an in-flight job before closing (${testBackend()})`, async () => {
  let releaseRequest!: () => void;
  let releaseJob!: () => void;
  const requestGate = new Promise<void>((resolve) => {
    releaseRequest = resolve;
  });
  const jobGate = new Promise<void>((resolve) => {
    releaseJob = resolve;
  });
  let requestArrived!: () => void;
  const arrived = new Promise<void>((resolve) => {
    requestArrived = resolve;
  });
  let jobStarted!: () => void;
  const started = new Promise<void>((resolve) => {
    jobStarted = resolve;
  });
  let jobFinished = false;
  const slow: Module = {
    name: 'slow',
    routes(app) {
      app.get('/slow', async () => {
        requestArrived();
        await requestGate;
        return { done: true };
      });
    },
    async jobs(queue) {
      await queue.define('slow.job');
      await queue.work('slow.job', async () => {
        jobStarted();
        await jobGate;
        jobFinished = true;
      });
    },
  };

  const database = await newDatabaseUrl();
  const env = {
    STELLA_HOME: scratchDir('stella-shutdown-'),
    STELLA_SERVER_PORT: '0',
    STELLA_LOG_LEVEL: 'silent',
    ...(database.url ? { STELLA_DATABASE_URL: database.url } : {}),
  };
  const server = await startServer({ config: loadConfig({ env }).config, modules: [...modules, slow] });
  try {
    await server.ctx.queue.send('slow.job', {});
    const response = fetch(`${server.url}/slow`).then(async (r) => ({
      status: r.status,
      connection: r.headers.get('connection'),
      body: await r.json(),
    }));
    await arrived;
    await started;

    let closed = false;
    const closing = server.close().then(() => {
      closed = true;
    });
    // While draining, the server must neither finish closing nor drop the request or the job.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(closed, false, 'close waits for in-flight work');
    releaseRequest();
    // `Connection: close` lets the client's keep-alive socket go, so closing does not wait out its timeout.
    assert.deepEqual(await response, { status: 200, connection: 'close', body: { done: true } });
    releaseJob();
    await closing;
    assert.equal(jobFinished, true, 'the running job finished before the queue stopped');
  } finally {
    releaseRequest();
    releaseJob();
    await server.close().catch(() => {});
    await database.drop();
  }
});
