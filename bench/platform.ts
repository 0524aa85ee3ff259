// Platform benchmark: requests/s and p99 latency of an authenticated GET on the timeline under 32
// concurrent loopback connections, on both database backends, next to an unauthenticated /healthz
// baseline measured against the same server in the same run, plus the server's resident memory.
// Each load is bounded in time and request count and targets 127.0.0.1 only.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, freePort, startPostgres } from '@stella/testkit';

const CONNECTIONS = 32;
const DURATION_MS = 10_000; // long enough for p99 to settle at thousands of requests, short enough for CI-like runs
const MAX_REQUESTS = 200_000;
const WARMUP_MS = 2_000;

interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  requestsPerSecond: number;
  p50ms: number;
  p99ms: number;
}

export async function runPlatformBench() {
  const results: Record<string, unknown> = {
    command: 'npm run bench -- platform',
    node: process.version,
    connections: CONNECTIONS,
    durationMs: DURATION_MS,
    date: new Date().toISOString(),
  };
  results.pglite = await benchBackend('pglite');
  const cluster = await startPostgres();
  try {
    const db = await createDatabase(cluster.adminUrl, cluster.appUrl, 'bench');
    results.postgres = await benchBackend('postgres', db.url);
    await db.drop();
  } finally {
    await cluster.stop();
  }
  return results;
}

async function benchBackend(backend: 'pglite' | 'postgres', databaseUrl?: string) {
  const home = mkdtempSync(join(tmpdir(), 'stella-bench-'));
  const port = await freePort();
  const server = spawn(process.execPath, ['packages/cli/src/bin.ts', 'serve'], {
    env: {
      ...process.env,
      STELLA_HOME: home,
      STELLA_SERVER_PORT: String(port),
      STELLA_LOG_LEVEL: 'warn',
      STELLA_DATABASE_URL: databaseUrl ?? '',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitReady(base, server);
    const creds = JSON.parse(readFileSync(join(home, 'credentials.json'), 'utf8'));
    const admin = creds.clients['stella-admin'];
    const token = await getToken(base, admin.clientId, admin.clientSecret);
    const headers = { authorization: `Bearer ${token}`, 'x-stella-tenant': 'default' };
    for (let i = 0; i < 200; i++) {
      await call(base, 'POST', '/timeline/events', headers, {
        category: 'runtime',
        kind: 'bench.seed',
        details: { i },
      });
    }
    const path = '/api/v1/timeline/events?limit=20';
    await load(base, '/healthz', {}, WARMUP_MS);
    const baseline = await load(base, '/healthz', {}, DURATION_MS);
    await load(base, path, headers, WARMUP_MS);
    const timeline = await load(base, path, headers, DURATION_MS);
    const rssMiB = Math.round(rssOf(server.pid!) / 1024);
    const row = {
      backend,
      baselineHealthz: baseline,
      timelineGet: timeline,
      ratioToBaseline: Number((timeline.requestsPerSecond / baseline.requestsPerSecond).toFixed(3)),
      serverRssMiB: rssMiB,
    };
    console.error(
      `${backend}: timeline ${timeline.requestsPerSecond} req/s p99 ${timeline.p99ms} ms; healthz ${baseline.requestsPerSecond} req/s; RSS ${rssMiB} MiB`,
    );
    return row;
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(home, { recursive: true, force: true });
  }
}

async function waitReady(base: string, child: ChildProcess) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error('server exited during start-up');
    const status = await call(base, 'GET', '/readyz', {})
      .then((r) => r.status)
      .catch(() => 0);
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('server not ready within 60 s');
}

async function getToken(base: string, id: string, secret: string): Promise<string> {
  const res = await fetch(`${base}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret }),
  });
  const body = (await res.json()) as { access_token: string };
  return body.access_token;
}

const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });

function call(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${base}${path}`,
      {
        method,
        agent,
        headers: { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function load(
  base: string,
  path: string,
  headers: Record<string, string>,
  durationMs: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const until = started + durationMs;
  const worker = async () => {
    while (performance.now() < until && latencies.length + errors < MAX_REQUESTS) {
      const t0 = performance.now();
      try {
        const { status } = await call(base, 'GET', path, headers);
        if (status === 200) latencies.push(performance.now() - t0);
        else errors++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    Number((latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0).toFixed(2));
  return {
    requests: latencies.length,
    errors,
    seconds: Number(seconds.toFixed(2)),
    requestsPerSecond: Math.round(latencies.length / seconds),
    p50ms: pct(0.5),
    p99ms: pct(0.99),
  };
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}
