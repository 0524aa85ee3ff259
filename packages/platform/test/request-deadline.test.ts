// The request deadline (server.requestTimeoutMs): a request without an answer by then gets 503
// ERR_REQUEST_DEADLINE and its database work is cancelled, on both backends; answers that already
// stream and the time spent receiving a body are not counted.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Errors, StellaError } from '@stella/core';
import { type TestDb, testBackend, testDb, waitFor } from '@stella/testkit';
import { createTokenVerifier } from '../src/auth/index.ts';
import { createWorkTracker, type Db } from '../src/db/index.ts';
import { createHttpApp, createLogger, type HttpApp } from '../src/http/index.ts';
import { createMetricsRegistry } from '../src/metrics/index.ts';

const DEADLINE_MS = 300;
// Bounds every wait for something the server does on its own; far above DEADLINE_MS.
const WAIT_MS = 15_000;

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe(`request deadline (${testBackend()})`, () => {
  let database: TestDb;
  let db: Db;
  let app: HttpApp;
  let base: string;
  const work = createWorkTracker();
  const held = gate();
  let heldOutcome: Promise<unknown> | undefined;
  let streamed = gate();

  before(async () => {
    database = await testDb();
    db = database.db;
    await db.query('create table deadline_probe (id int primary key)');
    ({ app } = await createHttpApp({
      logger: createLogger({ level: 'silent' }),
      registry: createMetricsRegistry({ defaultMetrics: false }),
      requestBodyBytes: 1024 * 1024,
      tenantHeader: 'X-Stella-Tenant',
      verifier: createTokenVerifier({
        issuer: 'http://issuer.test',
        audience: 'stella',
        clockSkewSeconds: 0,
        keys: { kind: 'local', jwks: async () => ({ keys: [] }) },
      }),
      docsUi: false,
      version: 'test',
      requestDeadlineMs: DEADLINE_MS,
      work,
    }));
    // Writes a row, then waits past the deadline inside the transaction, then writes another.
    app.get('/held', async () => {
      heldOutcome = db
        .transaction(async (tx) => {
          await tx.query('insert into deadline_probe (id) values (1)');
          await held.opened;
          await tx.query('insert into deadline_probe (id) values (2)');
        })
        .then(
          () => 'committed',
          (error: unknown) => error,
        );
      await heldOutcome;
      return { done: true };
    });
    // One statement that outlives the deadline: PostgreSQL cancels it.
    app.get('/sleep', async () => {
      heldOutcome = db.query('select pg_sleep(30)').then(
        () => 'finished',
        (error: unknown) => error,
      );
      await heldOutcome;
      return { done: true };
    });
    app.get('/stream', async (_request, reply) => {
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'text/plain' });
      reply.raw.write('first\n');
      await streamed.opened;
      // Still inside the request's work, long after its deadline: nothing was cancelled.
      const { rows } = await db.query<{ n: number }>('select 2 as n');
      reply.raw.end(`second ${rows[0]!.n}\n`);
    });
    app.post('/upload', async (request) => ({ got: (request.body as { n: number }).n }));
    app.get('/exempt', { config: { deadlineMs: false } }, async () => {
      await streamed.opened;
      return { done: true };
    });
    app.get('/quick', async () => (await db.query<{ n: number }>('select 1 as n')).rows[0]);
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    held.open();
    streamed.open();
    await app.close();
    await database.close();
  });

  test('a request past its deadline answers 503 ERR_REQUEST_DEADLINE, and its transaction rolls back', async () => {
    const response = await fetch(`${base}/held`);
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    const problem = (await response.json()) as { code: string; requestId: string };
    assert.equal(problem.code, Errors.requestDeadline.code);
    assert.equal(problem.requestId, response.headers.get('x-stella-request-id'));
    // The handler carries on until it meets the database again: that statement is refused.
    held.open();
    const outcome = await heldOutcome;
    assert.ok(outcome instanceof StellaError, `the transaction failed: ${String(outcome)}`);
    assert.equal(outcome.code, Errors.requestDeadline.code);
    const { rows } = await db.query('select id from deadline_probe');
    assert.deepEqual(rows, [], 'nothing of the cut-off transaction was committed');
    await waitFor('the request to leave the in-flight list', () => work.inFlight().length === 0, {
      deadlineMs: WAIT_MS,
    });
  });

  test('PostgreSQL: the statement running at the deadline is cancelled on the server', {
    skip: testBackend() !== 'postgres' && 'PGlite runs a statement to its end on the event loop; no cancel',
  }, async () => {
    const started = Date.now();
    const response = await fetch(`${base}/sleep`);
    assert.equal(response.status, 503);
    const outcome = (await heldOutcome) as { code?: string };
    // 57014 query_canceled, long before pg_sleep(30) would have returned.
    assert.equal(outcome.code, '57014', `the statement was cancelled: ${String(outcome)}`);
    assert.ok(Date.now() - started < 30_000);
    const { rows } = await db.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity where query like 'select pg_sleep(30)%' and state = 'active'`,
    );
    assert.equal(rows[0]!.n, 0, 'no backend still runs the statement');
  });

  test('an answer that already streams is not cut off at the deadline', async () => {
    streamed = gate();
    const response = await fetch(`${base}/stream`);
    assert.equal(response.status, 200);
    const reader = response.body!.getReader();
    const first = await reader.read();
    assert.equal(new TextDecoder().decode(first.value), 'first\n');
    // Past the deadline on purpose (a timed pause, not a wait for a condition): the stream must survive it.
    await delay(DEADLINE_MS * 2);
    streamed.open();
    let rest = '';
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      rest += new TextDecoder().decode(chunk.value);
    }
    assert.equal(rest, 'second 2\n');
  });

  test('time spent receiving the body does not count against the deadline', async () => {
    const body = JSON.stringify({ n: 7 });
    const port = new URL(base).port;
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      received += chunk;
    });
    socket.write(
      `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
    );
    socket.write(body.slice(0, 3));
    // A slow client: the rest arrives after the deadline would have passed had it counted from the headers.
    await delay(DEADLINE_MS * 2);
    socket.end(body.slice(3));
    await waitFor('the answer', () => /\r\n\r\n\{.*\}/s.test(received), { deadlineMs: WAIT_MS });
    assert.match(received, /^HTTP\/1\.1 200 /);
    assert.match(received, /\{"got":7\}/);
  });

  test('a route can opt out of the deadline', async () => {
    streamed = gate();
    const pending = fetch(`${base}/exempt`);
    await waitFor('the request to arrive', () => work.inFlight().some((w) => w.what === 'GET /exempt'), {
      deadlineMs: WAIT_MS,
    });
    await delay(DEADLINE_MS * 2);
    streamed.open();
    assert.equal((await pending).status, 200);
  });

  test('a quick request is untouched and leaves nothing in flight', async () => {
    const response = await fetch(`${base}/quick`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { n: 1 });
    await waitFor('the request to leave the in-flight list', () => work.inFlight().length === 0, {
      deadlineMs: WAIT_MS,
    });
  });
});
