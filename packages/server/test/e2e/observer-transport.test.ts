// SPDX-License-Identifier: Apache-2.0
// The observer transport against a real server: delivery and gzip, a server outage survived through
// the spool (same port after restart, nothing lost or counted twice), the spool cap, the rate guard,
// a permanent refusal, a 429 from the real rate limiter, and configuration errors.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createTransport, observerConfig, type RuntimeEvent, spoolDirFor, type Transport } from '@stella/observer';
import { startTestServer, type TestServer } from '../helpers.ts';

const SYMBOLS = ['pkg:npm/app:main', 'pkg:npm/app:handler', 'pkg:npm/lodash:merge', 'pkg:npm/lodash:unused'];

function graph() {
  return {
    schema: 'stella.callgraph.v1',
    metadata: { language: 'Node', component: 'app', version: '1.0.0' },
    nodes: SYMBOLS.map((id) => ({ id, name: id.split(':').at(-1) })),
    edges: [
      { sourceId: SYMBOLS[0], targetId: SYMBOLS[1], kind: 'static' },
      { sourceId: SYMBOLS[1], targetId: SYMBOLS[2], kind: 'static' },
    ],
    entrypoints: [{ nodeId: SYMBOLS[0], kind: 'http', order: 0 }],
  };
}

/** A port nobody listens on right now, for a server that must come back on the same one. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const base = Date.parse('2026-01-05T10:00:00.000Z');
/** Event i: symbols round-robin, hitCount 1..5, padded metadata so 1000 events exceed 64 KiB. */
const eventAt = (i: number): RuntimeEvent => ({
  symbolId: SYMBOLS[i % SYMBOLS.length]!,
  hitCount: (i % 5) + 1,
  observedAt: new Date(base + (i % 97) * 1000).toISOString(),
  purl: 'pkg:npm/lodash@4.17.21',
  metadata: { seq: String(i), note: 'x'.repeat(80) },
});
const hitsOf = (from: number, to: number) => {
  let n = 0;
  for (let i = from; i < to; i++) n += eventAt(i).hitCount;
  return n;
};

async function pollUntil(what: string, check: () => Promise<boolean> | boolean, deadlineMs = 30_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await delay(50);
  }
}

describe('observer transport end to end', () => {
  let t: TestServer;
  let port: number;
  let token: string;
  let callgraphId = '';
  const dirs: string[] = [];
  const transports: Transport[] = [];
  let scanCounter = 0;

  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${t.base}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': 'default', ...(init.headers as object) },
    });

  const totalHits = async (scanId: string) => {
    const res = await call(`/signals/facts/${encodeURIComponent(scanId)}?wait=30`);
    assert.equal(res.status, 200, await res.clone().text());
    return ((await res.json()) as { runtimeFacts: { totalHits: number } }).runtimeFacts.totalHits;
  };

  const envFor = (overrides: Record<string, string> = {}) => {
    const spool = mkdtempSync(join(tmpdir(), 'stella-observer-test-'));
    dirs.push(spool);
    return {
      STELLA_OBSERVER_ENDPOINT: t.base,
      STELLA_OBSERVER_CLIENT_ID: t.admin.clientId,
      STELLA_OBSERVER_CLIENT_SECRET: t.admin.clientSecret,
      STELLA_OBSERVER_CALLGRAPH_ID: callgraphId,
      STELLA_OBSERVER_SCAN_ID: `observer-scan-${++scanCounter}`,
      STELLA_OBSERVER_SPOOL_DIR: spool,
      // Only explicit flushes and full batches send, so each test decides when a batch goes.
      Ingest__FlushIntervalMs: '3600000',
      Sampler__MaxEventsPerSecond: '1000000',
      Sampler__MaxCpuPercent: '100',
      ...overrides,
    };
  };
  const open = (env: Record<string, string>, options: Parameters<typeof createTransport>[1] = {}) => {
    const transport = createTransport(observerConfig(env), { exitHooks: false, ...options });
    transports.push(transport);
    return transport;
  };
  const batchFiles = (env: Record<string, string>) =>
    readdirSync(spoolDirFor(observerConfig(env))).filter((n) => n.endsWith('.batch'));
  const receipts = (env: Record<string, string>) =>
    readFileSync(join(spoolDirFor(observerConfig(env)), 'receipts.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  before(async () => {
    port = await freePort();
    t = await startTestServer({ STELLA_SERVER_PORT: String(port) });
    token = await t.token();
    const res = await call('/signals/callgraphs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(graph()),
    });
    assert.equal(res.status, 202, await res.clone().text());
    callgraphId = ((await res.json()) as { callgraphId: string }).callgraphId;
  });
  after(async () => {
    for (const transport of transports) await transport.close();
    await t.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('events reach Signals: a batch over 64 KiB goes gzip, a small one plain, each with a receipt', async () => {
    const env = envFor();
    const transport = open(env);
    for (let i = 0; i < 1200; i++) transport.record(eventAt(i));
    await transport.flush();
    const stats = transport.stats();
    assert.equal(stats.lastError, undefined);
    assert.deepEqual([stats.sent, stats.batchesSent, stats.pending], [1200, 2, 0]);
    assert.equal(await totalHits(env.STELLA_OBSERVER_SCAN_ID), hitsOf(0, 1200));
    const [big, small] = receipts(env);
    assert.equal(big!.events, 1000);
    assert.equal(small!.events, 200);
    assert.equal(big!.subjectKey, env.STELLA_OBSERVER_SCAN_ID);
    // The decoded digest (the server's CAS key) differs from the bytes sent only when they were gzip.
    assert.notEqual(big!.bodySha256, big!.decodedSha256);
    assert.equal(small!.bodySha256, small!.decodedSha256);
    // The server's Content-SHA256 is the digest of the bytes as sent (seed 000's sha256sum check).
    assert.equal(big!.contentSha256, big!.bodySha256);
    assert.equal(small!.contentSha256, small!.bodySha256);
    assert.match(String(big!.ingestId), /^obs-/);
  });

  test('server stopped mid-stream: batches spool, drain after a restart on the same port, none lost or counted twice', async () => {
    const env = envFor({ Ingest__BatchSize: '100' });
    const first = open(env);
    for (let i = 0; i < 100; i++) first.record(eventAt(i));
    await first.flush();
    assert.equal(first.stats().sent, 100);

    await t.server.close();
    for (let i = 100; i < 350; i++) first.record(eventAt(i));
    await first.flush();
    const down = first.stats();
    assert.equal(down.sent, 100);
    assert.equal(down.spooled, 250);
    assert.ok(down.lastError, 'the failure is reported');
    const files = batchFiles(env);
    assert.equal(files.length, 3, files.join());
    await first.close();

    // One batch file kept aside and put back after it was sent: a retry whose first answer was lost.
    const spoolDir = spoolDirFor(observerConfig(env));
    const aside = join(dirs.at(-1)!, 'aside.batch');
    copyFileSync(join(spoolDir, files[0]!), aside);

    await t.restart();
    assert.equal(t.base, `http://127.0.0.1:${port}`);
    token = await t.token();
    const second = open(env);
    await pollUntil('the spool to drain', async () => {
      await second.flush();
      return second.stats().spoolBatches === 0;
    });
    assert.equal(second.stats().sent, 250);
    assert.equal(await totalHits(env.STELLA_OBSERVER_SCAN_ID), hitsOf(0, 350));

    copyFileSync(aside, join(spoolDir, files[0]!));
    rmSync(aside);
    const third = open(env);
    await third.flush();
    assert.equal(third.stats().spoolBatches, 0);
    const last = receipts(env).at(-1)!;
    assert.equal(last.duplicate, true);
    assert.equal(await totalHits(env.STELLA_OBSERVER_SCAN_ID), hitsOf(0, 350), 'the resent batch counted once');
  });

  test('a full spool drops the oldest batches and counts spool_full per event', async () => {
    const nowhere = await freePort();
    const env = envFor({
      STELLA_OBSERVER_ENDPOINT: `http://127.0.0.1:${nowhere}`,
      STELLA_OBSERVER_TOKEN: 'unused',
      STELLA_OBSERVER_CLIENT_ID: '',
      STELLA_OBSERVER_CLIENT_SECRET: '',
      STELLA_OBSERVER_SPOOL_MAX_BYTES: String(64 * 1024),
      Ingest__BatchSize: '100',
    });
    const transport = open(env);
    for (let i = 0; i < 1000; i++) transport.record(eventAt(i));
    await transport.flush();
    const stats = transport.stats();
    assert.ok(stats.spoolBytes <= 64 * 1024, `spool holds ${stats.spoolBytes} bytes`);
    assert.ok(stats.dropped.spool_full > 0);
    const files = batchFiles(env);
    const kept = files.reduce((n, f) => n + Number(f.split('-')[1]), 0);
    assert.equal(kept + stats.dropped.spool_full, 1000, 'every event is either spooled or counted as dropped');
    // The oldest went: the first batch's sequence number is no longer there.
    assert.ok(!files.some((f) => f.startsWith('0000000000000001-')), files.join());
  });

  test('the rate guard drops events beyond MaxEventsPerSecond and counts them as rate_limit', async () => {
    const env = envFor({ Sampler__MaxEventsPerSecond: '10' });
    // One instant for every record call: exactly one second's burst (10) is let through.
    const transport = open(env, { now: () => base });
    for (let i = 0; i < 50; i++) transport.record(eventAt(i));
    assert.deepEqual([transport.stats().recorded, transport.stats().dropped.rate_limit], [10, 40]);
    await transport.flush();
    assert.equal(transport.stats().sent, 10);
    assert.equal(await totalHits(env.STELLA_OBSERVER_SCAN_ID), hitsOf(0, 10));
  });

  test('a permanent refusal (unknown callgraph) goes to rejected/, is logged once and not retried', async () => {
    const env = envFor({ STELLA_OBSERVER_CALLGRAPH_ID: 'cg-does-not-exist', Ingest__BatchSize: '10' });
    const logs: Record<string, unknown>[] = [];
    const transport = open(env, { log: (message, fields) => logs.push({ message, ...fields }) });
    for (let i = 0; i < 30; i++) transport.record(eventAt(i));
    await transport.flush();
    await transport.flush();
    const stats = transport.stats();
    assert.deepEqual([stats.sent, stats.dropped.rejected, stats.retried, stats.spoolBatches], [0, 30, 0, 0]);
    assert.equal(logs.length, 1);
    assert.equal(logs[0]!.code, 'ERR_SIGNALS_CALLGRAPH_NOT_FOUND');
    const rejected = readdirSync(join(spoolDirFor(observerConfig(env)), 'rejected'));
    assert.equal(rejected.filter((n) => n.endsWith('.batch')).length, 3);
    assert.equal(rejected.filter((n) => n.endsWith('.answer.json')).length, 3);
  });

  test('SIGTERM in a host without its own listener: pending events are sent, then the process dies of SIGTERM', async () => {
    // A generous exit deadline: the upload (token + batch) must finish whatever the machine's load.
    const env = envFor({ STELLA_OBSERVER_EXIT_FLUSH_TIMEOUT_MS: '30000' });
    // The host: records five events and is terminated before any batch was due.
    const host = [
      "import { createTransport, observerConfig } from '@stella/observer';",
      'const transport = createTransport(observerConfig(process.env));',
      "for (let i = 0; i < 5; i++) transport.record({ symbolId: 'pkg:npm/app:main', hitCount: 2, observedAt: '2026-01-05T10:00:00.000Z' });",
      "process.kill(process.pid, 'SIGTERM');",
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const child = spawn(process.execPath, ['--input-type=module', '-e', host], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      child.on('exit', (c, s) => resolve([c, s])),
    );
    assert.deepEqual([code, signal], [null, 'SIGTERM'], stderr);
    assert.equal(await totalHits(env.STELLA_OBSERVER_SCAN_ID), 10);
    assert.equal(receipts(env).length, 1);
  });

  test('configuration errors name every bad variable', () => {
    assert.throws(
      () =>
        observerConfig({
          STELLA_OBSERVER_ENDPOINT: 'http://stella.example:8440',
          STELLA_OBSERVER_TOKEN: 'x',
          STELLA_OBSERVER_SCAN_ID: 's',
        }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ERR_OBSERVER_CONFIG');
        assert.match(
          error.message,
          /STELLA_OBSERVER_ENDPOINT must use https: \(plain http: is allowed only for loopback/,
        );
        assert.match(error.message, /STELLA_OBSERVER_CALLGRAPH_ID is required/);
        return true;
      },
    );
    assert.throws(
      () => observerConfig({ ...envFor(), Ingest__BatchSize: 'many', STELLA_OBSERVER_SCAN_ID: '' }),
      (error: Error) => {
        assert.match(error.message, /Ingest__BatchSize must be an integer from 1 to 100000, got "many"/);
        assert.match(error.message, /a subject is required/);
        return true;
      },
    );
  });
});

describe('observer transport and the server rate limiter', () => {
  let t: TestServer;
  const dirs: string[] = [];
  before(async () => {
    t = await startTestServer(
      {},
      [
        'rate_limiting:',
        '  process_back_pressure_when_more_than_per_5min: 0',
        '  for_instance:',
        '    rules: [ { per_seconds: 2, max_requests: 3 } ]',
      ].join('\n'),
    );
  });
  after(async () => {
    await t.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('a 429 keeps the batch spooled until Retry-After has passed, then it is sent once', async () => {
    // Requests spent before the observer: the token, the graph; the observer has one left.
    const token = await t.token();
    const res = await fetch(`${t.base}/signals/callgraphs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(graph()),
    });
    assert.equal(res.status, 202);
    const callgraphId = ((await res.json()) as { callgraphId: string }).callgraphId;
    const spool = mkdtempSync(join(tmpdir(), 'stella-observer-test-'));
    dirs.push(spool);
    const env = {
      STELLA_OBSERVER_ENDPOINT: t.base,
      STELLA_OBSERVER_TOKEN: token,
      STELLA_OBSERVER_CALLGRAPH_ID: callgraphId,
      STELLA_OBSERVER_SCAN_ID: 'rate-limited',
      STELLA_OBSERVER_SPOOL_DIR: spool,
      Ingest__BatchSize: '10',
      Ingest__FlushIntervalMs: '3600000',
    };
    const transport = createTransport(observerConfig(env), { exitHooks: false });
    try {
      for (let i = 0; i < 40; i++) transport.record(eventAt(i));
      await transport.flush();
      const limited = transport.stats();
      assert.match(limited.lastError ?? '', /answered 429/);
      assert.ok(limited.spoolBatches > 0);
      assert.ok(limited.retryAfterMs !== undefined && limited.retryAfterMs > 0, 'Retry-After was read');
      await pollUntil('the spool to drain after Retry-After', async () => {
        await transport.flush();
        return transport.stats().spoolBatches === 0;
      });
      assert.equal(transport.stats().sent, 40);
      assert.equal(transport.stats().dropped.rejected, 0);
    } finally {
      await transport.close();
    }
  });
});
