// Observer benchmark (issue 16): what the runtime observer costs the process it watches. Two workloads,
// each run as a child process without and with `--import @stella/observer/register` (default profile:
// binary function coverage), interleaved (off, on, off, on, …) so machine noise hits both alike, medians
// reported: a CPU-bound loop (route matching over 200 routes, a JSON round trip, occasionally fib(15);
// the workload of spec reachability §3.1) timed inside the child, and an HTTP server (node:http, the same
// work per request) driven from this process by a bounded closed-loop client on 127.0.0.1. Each run spans
// several coverage takes (every 500 ms here, 4× the default rate). The observer streams to a real
// in-process stella (PGlite) on 127.0.0.1. The goal: ≤ 5 % in the default profile.
// Noise control: the workload runs pinned to the last CPU and this process (client, stella) to the
// others (taskset, util-linux), and the overhead is the median of the per-round ratios on/off (each
// round's pair ran back to back), besides the ratio of the medians.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningServer } from '@stella/server';
import { freePort } from '@stella/testkit';
import { adminToken, benchApi, benchMachine, withBenchServer } from './kit.ts';

const RUNS = Number(process.env.STELLA_BENCH_OBSERVER_RUNS ?? 9);
const CPU_ITERATIONS = Number(process.env.STELLA_BENCH_OBSERVER_ITERATIONS ?? 400_000);
const HTTP_REQUESTS = Number(process.env.STELLA_BENCH_OBSERVER_REQUESTS ?? 30_000);
/** Coverage is taken this often in the benchmark: 4× the default rate, so every measured run spans several takes. */
const TAKE_INTERVAL_MS = 500;
const HTTP_CONCURRENCY = 16;
const REGISTER = fileURLToPath(import.meta.resolve('@stella/observer/register'));

const WORK = `
const routes = Array.from({ length: 200 }, (_, i) => ({ re: new RegExp('^/api/v1/r' + i + '/([^/]+)/items/(\\\\d+)$'), i }));
function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
function handle(path, n) {
  let hit = -1;
  for (const r of routes) { const m = r.re.exec(path); if (m) { hit = r.i; break; } }
  const body = JSON.parse(JSON.stringify({ hit, path, items: [n, n + 1, n + 2], meta: { ok: true } }));
  if (n % 50 === 0) body.fib = fib(15);
  return body;
}
`;

const CPU_SCRIPT = `${WORK}
for (let i = 0; i < 2000; i++) handle('/api/v1/r' + (i % 200) + '/x/items/' + i, i);
const t = performance.now();
for (let i = 0; i < ${CPU_ITERATIONS}; i++) handle('/api/v1/r' + (i % 200) + '/x/items/' + i, i);
process.stdout.write(String(performance.now() - t));
`;

const HTTP_SCRIPT = `${WORK}
const http = require('node:http');
let n = 0;
const server = http.createServer((req, res) => {
  const body = JSON.stringify(handle(req.url, n++));
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/** `taskset -c <cpu>` prefix for the workload, or none on a machine with one CPU or without taskset. */
const PIN = pinning();

function pinning(): { workload: string[]; note: string } {
  const cpus = availableParallelism();
  if (cpus < 2) return { workload: [], note: 'not pinned (one CPU)' };
  try {
    execFileSync('taskset', ['-pc', `0-${cpus - 2}`, String(process.pid)], { stdio: 'ignore' });
    return {
      workload: ['taskset', '-c', String(cpus - 1)],
      note: `workload on CPU ${cpus - 1}, client and stella on CPU 0-${cpus - 2}`,
    };
  } catch {
    return { workload: [], note: 'not pinned (taskset unavailable)' };
  }
}

function spawnWorkload(script: string, env: Record<string, string>) {
  const [command, ...args] = [...PIN.workload, process.execPath, script];
  return spawn(command!, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const round = (n: number, digits = 2) => Number(n.toFixed(digits));

export async function runObserverBench() {
  const started = { date: new Date().toISOString(), load: round(loadavg()[0]!) };
  return withBenchServer('observer', undefined, async (server, home) => {
    const env = await observerEnv(server, home);
    const dir = mkdtempSync(join(tmpdir(), 'stella-bench-observer-'));
    try {
      writeFileSync(join(dir, 'cpu.cjs'), CPU_SCRIPT);
      writeFileSync(join(dir, 'http.cjs'), HTTP_SCRIPT);
      const cpu = { off: [] as number[], on: [] as number[] };
      const http = { off: [] as number[], on: [] as number[] };
      // One unrecorded round first: the load generator's client and the file cache warm up.
      await cpuRun(dir, undefined);
      await httpRun(dir, env);
      for (let run = 0; run < RUNS; run++) {
        for (const mode of ['off', 'on'] as const) {
          cpu[mode].push(await cpuRun(dir, mode === 'on' ? env : undefined));
          http[mode].push(await httpRun(dir, mode === 'on' ? env : undefined));
          console.error(
            `run ${run + 1}/${RUNS} ${mode}: cpu ${round(cpu[mode].at(-1)!)} ms, http ${round(http[mode].at(-1)!)} req/s`,
          );
        }
      }
      // Proof the observer was on: the batches Signals accepted, from its spool receipts.
      const receipts = readdirSync(join(home, 'observer-spool'), { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('receipts.ndjson'))
        .flatMap((f) =>
          readFileSync(join(home, 'observer-spool', f), 'utf8')
            .trim()
            .split('\n'),
        )
        .map((line) => JSON.parse(line) as { events: number });
      const spooled = readdirSync(join(home, 'observer-spool'), { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('.batch')).length;
      if (receipts.length + spooled === 0)
        throw new Error('the observer recorded nothing: the "on" runs were not observed');
      const cpuOverhead = median(cpu.on) / median(cpu.off) - 1;
      const httpOverhead = 1 - median(http.on) / median(http.off);
      // Each round's off and on ran back to back: their ratio cancels the drift between rounds.
      const cpuPaired = median(cpu.on.map((on, i) => on / cpu.off[i]! - 1));
      const httpPaired = median(http.on.map((on, i) => 1 - on / http.off[i]!));
      return {
        command: 'npm run bench -- observer',
        date: started.date,
        machine: benchMachine(started.load),
        profile: `function (binary precise coverage), coverage taken every ${TAKE_INTERVAL_MS} ms (Ingest:FlushIntervalMs)`,
        runs: RUNS,
        pinning: PIN.note,
        cpu: {
          iterations: CPU_ITERATIONS,
          medianMsOff: round(median(cpu.off)),
          medianMsOn: round(median(cpu.on)),
          overheadPercent: round(cpuOverhead * 100, 1),
          pairedOverheadPercent: round(cpuPaired * 100, 1),
          runsMs: { off: cpu.off.map((x) => round(x)), on: cpu.on.map((x) => round(x)) },
        },
        http: {
          requests: HTTP_REQUESTS,
          concurrency: HTTP_CONCURRENCY,
          medianRpsOff: round(median(http.off)),
          medianRpsOn: round(median(http.on)),
          overheadPercent: round(httpOverhead * 100, 1),
          pairedOverheadPercent: round(httpPaired * 100, 1),
          runsRps: { off: http.off.map((x) => round(x)), on: http.on.map((x) => round(x)) },
        },
        // Batches left in the spool are the HTTP runs' last takes: the workload exits in its own SIGTERM
        // handler before the exit flush finishes, so they wait for the next start (as designed).
        observed: {
          batchesAccepted: receipts.length,
          eventsAccepted: receipts.reduce((n, r) => n + r.events, 0),
          batchesSpooled: spooled,
        },
        goal: { overheadPercentAtMost: 5, met: cpuPaired <= 0.05 && httpPaired <= 0.05 },
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** The observer's settings for a graph posted to the bench server, as `stella observe` would set them. */
async function observerEnv(server: RunningServer, home: string): Promise<Record<string, string>> {
  const token = await adminToken(server, home);
  const api = benchApi(server, token);
  const graph = {
    schema: 'stella.callgraph.v1',
    metadata: { language: 'javascript', component: 'bench', version: '1.0.0' },
    nodes: [{ id: 'bench#main', name: 'main' }],
    edges: [],
    entrypoints: [{ nodeId: 'bench#main', kind: 'main', order: 0 }],
  };
  const posted = (await (await api('/signals/callgraphs', { method: 'POST', body: JSON.stringify(graph) })).json()) as {
    callgraphId: string;
  };
  return {
    STELLA_OBSERVER_ENDPOINT: server.url,
    STELLA_OBSERVER_TOKEN: token,
    STELLA_OBSERVER_CALLGRAPH_ID: posted.callgraphId,
    STELLA_OBSERVER_COMPONENT: 'bench',
    STELLA_OBSERVER_VERSION: '1.0.0',
    STELLA_OBSERVER_SPOOL_DIR: join(home, 'observer-spool'),
    Ingest__FlushIntervalMs: String(TAKE_INTERVAL_MS),
  };
}

function childEnv(observer: Record<string, string> | undefined, extra: Record<string, string> = {}) {
  return {
    PATH: process.env.PATH ?? '',
    ...extra,
    ...(observer ? { ...observer, NODE_OPTIONS: `--import=${REGISTER}` } : {}),
  };
}

/** One CPU-bound run: the child times its own loop (after a warm-up), so start-up is not counted. */
function cpuRun(dir: string, observer: Record<string, string> | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawnWorkload(join(dir, 'cpu.cjs'), childEnv(observer));
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`cpu workload exited ${code}`))));
  });
}

/** One HTTP run: start the server, warm it up, then a closed loop of requests; requests per second. */
async function httpRun(dir: string, observer: Record<string, string> | undefined): Promise<number> {
  const port = await freePort();
  const child = spawnWorkload(join(dir, 'http.cjs'), childEnv(observer, { PORT: String(port) }));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.on('exit', (code) => reject(new Error(`http workload exited ${code} before it was ready`)));
    });
    const hit = (i: number) =>
      fetch(`http://127.0.0.1:${port}/api/v1/r${i % 200}/x/items/${i}`).then((r) => r.arrayBuffer());
    for (let i = 0; i < 500; i++) await hit(i);
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: HTTP_CONCURRENCY }, async () => {
        while (next < HTTP_REQUESTS) await hit(next++);
      }),
    );
    return HTTP_REQUESTS / ((performance.now() - started) / 1000);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}
