// Signals benchmark. (a) Sustained runtime ingest: gzip NDJSON batches of 1,000 events POSTed over
// loopback HTTP to /signals/runtime-facts/ndjson (durable: CAS blob, ingest row, aggregated facts,
// timeline event, outbox event, queued recompute) by clients in a process of their own
// (bench/signals-client.ts), RUNS runs per backend with the median reported, events/s, p99 per batch
// and the CPU of server, clients and PostgreSQL, next to a parse-only baseline of the same bytes in
// the same run (gunzip + split + JSON.parse), on PostgreSQL and PGlite.
// (b) Recompute on a seeded synthetic graph of 200k nodes / 1M edges with 1,000 targets, from a loaded
// graph and including the load (CSR bytes → arrays → two BFS → states). (c) Peak memory of (b),
// measured in a child process of its own so (a) does not inflate it.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import type { RunningServer } from '@stella/server';
import { encodeCsr, normalizeGraph, toCsr } from '@stella/signals';
import { createDatabase, startPostgres } from '@stella/testkit';
import { adminToken, benchMachine, postgresCpuSeconds, withBenchServer } from './kit.ts';
import { prng } from './prng.ts';
import { timeRecomputes } from './recompute.ts';
import { BATCH_EVENTS, RUNTIME_SYMBOLS, runtimeBatches, type SignalsClientPlan } from './signals-client.ts';

const run = promisify(execFile);

// The figures; the env variables only shorten trial runs.
const BATCHES = Number(process.env.STELLA_BENCH_SIGNALS_BATCHES ?? 300);
const WARMUP_BATCHES = 20;
/** Concurrent uploads: a handful of observers flushing at once, as seed 001's sampler would. */
const CONCURRENCY = Number(process.env.STELLA_BENCH_SIGNALS_CONCURRENCY ?? 4);
const GRAPH_NODES = Number(process.env.STELLA_BENCH_SIGNALS_NODES ?? 200_000);
const GRAPH_EDGES = Number(process.env.STELLA_BENCH_SIGNALS_EDGES ?? 1_000_000);
const TARGETS = 1000;
const SUBJECTS = 8;
/** Measured runs per backend; the goal is on their median. */
const RUNS = Number(process.env.STELLA_BENCH_SIGNALS_RUNS ?? 5);

const symbol = (i: number) => `pkg:npm/bench-${i % 97}:fn${i}`;

function syntheticGraph(nodes: number, edges: number) {
  const rand = prng(42);
  const nodeList = Array.from({ length: nodes }, (_, i) => ({
    id: symbol(i),
    name: `fn${i}`,
    purl: `pkg:npm/bench-${i % 97}@1.0.0`,
  }));
  const edgeList: { sourceId: string; targetId: string; kind: string }[] = [];
  const seen = new Set<number>();
  while (edgeList.length < edges) {
    // Mostly forward edges (call depth), a few back edges and heuristic ones, like real programs.
    const s = Math.floor(rand() * nodes);
    const forward = rand() < 0.9;
    const t = forward ? Math.min(nodes - 1, s + 1 + Math.floor(rand() * 50)) : Math.floor(rand() * nodes);
    if (s === t) continue;
    const key = s * nodes + t;
    if (seen.has(key)) continue;
    seen.add(key);
    edgeList.push({ sourceId: symbol(s), targetId: symbol(t), kind: rand() < 0.02 ? 'heuristic' : 'static' });
  }
  const entrypoints = Array.from({ length: 20 }, (_, i) => ({ nodeId: symbol(i * 37), kind: 'http', order: i }));
  return {
    schema: 'stella.callgraph.v1',
    metadata: { language: 'Node', component: 'bench', version: '1' },
    nodes: nodeList,
    edges: edgeList,
    entrypoints,
  };
}

const round = (v: number, d = 1) => Number(v.toFixed(d));

/** Builds, normalises and hashes the synthetic graph and writes its CSR bytes to dir/graph.csr. */
function buildBench(dir: string) {
  const t0 = performance.now();
  const body = syntheticGraph(GRAPH_NODES, GRAPH_EDGES);
  const tBuilt = performance.now();
  const { graph, graphHash } = normalizeGraph(
    {
      format: 'stella.callgraph.v1',
      metadata: body.metadata,
      nodes: body.nodes,
      edges: body.edges as never,
      entrypoints: body.entrypoints,
      runtimeFacts: [],
    },
    { maxNodes: 5_000_000, maxEdges: 20_000_000 },
  );
  const tNormalized = performance.now();
  const bytes = encodeCsr(toCsr(graph));
  const tEncoded = performance.now();
  writeFileSync(join(dir, 'graph.csr'), bytes);
  return {
    nodes: graph.nodes.length,
    edges: graph.edges.length,
    graphHash,
    csrBytes: bytes.length,
    buildSyntheticMs: round(tBuilt - t0),
    normalizeAndHashMs: round(tNormalized - tBuilt),
    toCsrAndEncodeMs: round(tEncoded - tNormalized),
  };
}

/** (b): reads the CSR bytes, then load + two BFS + 1,000 target states, five times; (c) is this process's peak RSS. */
function recomputeBench(dir: string) {
  const bytes = readFileSync(join(dir, 'graph.csr'));
  const rand = prng(7);
  const targets = Array.from({ length: TARGETS }, () => ({ symbolId: symbol(Math.floor(rand() * GRAPH_NODES)) }));
  const hits = new Map<string, number>();
  for (let i = 0; i < 2000; i++) hits.set(symbol(Math.floor(rand() * GRAPH_NODES)), 1 + Math.floor(rand() * 10));

  return { targets: TARGETS, ...timeRecomputes(bytes, targets, hits, 5) };
}

function parseOnly(bodies: Buffer[]) {
  const start = performance.now();
  let events = 0;
  for (const body of bodies) {
    for (const line of gunzipSync(body).toString('utf8').split('\n')) {
      if (!line) continue;
      JSON.parse(line);
      events++;
    }
  }
  const seconds = (performance.now() - start) / 1000;
  return { events, seconds: round(seconds, 3), eventsPerSecond: Math.round(events / seconds) };
}

async function ingestBackend(backend: 'pglite' | 'postgres', url?: string) {
  return withBenchServer('signals', url, async (server, home) => {
    const token = await adminToken(server, home);
    const graph = {
      schema: 'stella.callgraph.v1',
      metadata: { language: 'Node', component: 'bench', version: '1' },
      nodes: Array.from({ length: RUNTIME_SYMBOLS }, (_, i) => ({ id: `pkg:npm/bench:fn${i}` })),
      // A tree with fan-out 8 (call depth about 5), like an application over its dependencies.
      edges: Array.from({ length: RUNTIME_SYMBOLS - 1 }, (_, i) => ({
        sourceId: `pkg:npm/bench:fn${Math.floor(i / 8)}`,
        targetId: `pkg:npm/bench:fn${i + 1}`,
        kind: 'static',
      })),
      entrypoints: [{ nodeId: 'pkg:npm/bench:fn0', kind: 'main', order: 0 }],
    };
    const cg = await fetch(`${server.url}/signals/callgraphs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': 'default', 'content-type': 'application/json' },
      body: JSON.stringify(graph),
    });
    const { callgraphId } = (await cg.json()) as { callgraphId: string };
    const load = async (batches: number, seed: number) => {
      const plan: SignalsClientPlan = {
        base: server.url,
        token,
        callgraphId,
        concurrency: CONCURRENCY,
        subjects: SUBJECTS,
        batches,
        seed,
      };
      const planFile = join(home, `signals-plan-${seed}.json`);
      writeFileSync(planFile, JSON.stringify(plan));
      const groups = await groupTotals(server.ctx.metrics);
      const serverCpu = process.cpuUsage();
      const pgCpu = postgresCpuSeconds();
      const wall = performance.now();
      const { stdout } = await run(process.execPath, [join(import.meta.dirname, 'signals-client.ts'), planFile], {
        maxBuffer: 1 << 20,
      });
      const wallSeconds = (performance.now() - wall) / 1000;
      const serverCpuUsed = process.cpuUsage(serverCpu);
      const result = JSON.parse(stdout) as { eventsPerSecond: number; clientCpuSeconds: number };
      const groupsAfter = await groupTotals(server.ctx.metrics);
      const share = (seconds: number) => round(seconds / wallSeconds, 2);
      return {
        ...result,
        // Batches per transaction on average (the group commit's effect).
        batchesPerCommit:
          groupsAfter.groups > groups.groups
            ? round((groupsAfter.batches - groups.batches) / (groupsAfter.groups - groups.groups), 2)
            : null,
        // CPU seconds per wall second during the run (2 = both cores busy), per process group.
        cpuCores: {
          server: share((serverCpuUsed.user + serverCpuUsed.system) / 1e6),
          clients: share(result.clientCpuSeconds),
          ...(backend === 'postgres' ? { postgres: share(postgresCpuSeconds() - pgCpu) } : {}),
        },
      };
    };
    await load(WARMUP_BATCHES, 1000);
    const runs = [];
    for (let i = 0; i < RUNS; i++) {
      runs.push(await load(BATCHES, 1 + i));
      console.error(`${backend} run ${i + 1}: ${JSON.stringify(runs.at(-1))}`);
    }
    const median = [...runs].sort((a, b) => a.eventsPerSecond - b.eventsPerSecond)[Math.floor(runs.length / 2)]!;
    const version = (await server.ctx.db.query<{ v: string }>(`select current_setting('server_version') as v`)).rows[0]
      ?.v;
    return { backend, version, medianEventsPerSecond: median.eventsPerSecond, median, runs };
  });
}

/** Committed groups and the batches in them so far (stella_signals_runtime_group_batches). */
async function groupTotals(metrics: RunningServer['ctx']['metrics']) {
  // Absent on code from before group commit (a before/after run of this script on older code).
  const metric = metrics.getSingleMetric('stella_signals_runtime_group_batches');
  const values = metric ? (await metric.get()).values : [];
  const pick = (name: string) => values.find((v) => (v as { metricName?: string }).metricName === name)?.value ?? 0;
  return {
    groups: pick('stella_signals_runtime_group_batches_count'),
    batches: pick('stella_signals_runtime_group_batches_sum'),
  };
}

export async function runSignalsBench() {
  // (b) and (c) in children of their own: one builds the graph (object-heavy), the other only loads
  // and recomputes, so its peak RSS is the recompute's alone.
  const dir = mkdtempSync(join(tmpdir(), 'stella-bench-graph-'));
  const child = (mode: string) => {
    const run = spawnSync(process.execPath, [new URL(import.meta.url).pathname, mode, dir], {
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
    if (run.status !== 0) throw new Error(`${mode} failed: ${run.stderr}`);
    return JSON.parse(run.stdout);
  };
  let recompute: Record<string, unknown> = {};
  // STELLA_BENCH_SIGNALS_PART=ingest runs (a) alone, on both backends.
  const ingestOnly = process.env.STELLA_BENCH_SIGNALS_PART === 'ingest';
  try {
    if (!ingestOnly) recompute = { build: child('--build-child'), ...child('--recompute-child') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.error(`recompute: ${JSON.stringify(recompute)}`);

  const loadAtStart = Number(loadavg()[0]!.toFixed(2));
  const baseline = parseOnly(runtimeBatches(BATCHES, 1));
  const ingest: Record<string, unknown> = {};
  const cluster = await startPostgres();
  try {
    const database = await createDatabase(cluster.adminUrl, cluster.appUrl, 'bench_signals');
    try {
      ingest.postgres = await ingestBackend('postgres', database.url);
      console.error(`postgres: ${JSON.stringify(ingest.postgres)}`);
    } finally {
      await database.drop();
    }
  } finally {
    await cluster.stop();
  }
  ingest.pglite = await ingestBackend('pglite');
  console.error(`pglite: ${JSON.stringify(ingest.pglite)}`);
  const ratio = (r: unknown) =>
    Number(((r as { medianEventsPerSecond: number }).medianEventsPerSecond / baseline.eventsPerSecond).toFixed(3));
  return {
    area: 'signals',
    date: new Date().toISOString(),
    machine: benchMachine(loadAtStart),
    ingest: {
      batchEvents: BATCH_EVENTS,
      concurrency: CONCURRENCY,
      parseOnlyBaseline: baseline,
      ...ingest,
      ratioToParseOnly: { postgres: ratio(ingest.postgres), pglite: ratio(ingest.pglite) },
    },
    recompute,
  };
}

const mode = process.argv[2];
if (mode === '--build-child' || mode === '--recompute-child') {
  const dir = process.argv[3]!;
  const result = mode === '--build-child' ? buildBench(dir) : recomputeBench(dir);
  const usage = process.resourceUsage();
  process.stdout.write(
    `${JSON.stringify({ ...result, peakRssMiB: Math.round(usage.maxRSS / 1024), heapUsedMiB: Math.round(process.memoryUsage().heapUsed / 1024 ** 2) })}\n`,
  );
}
