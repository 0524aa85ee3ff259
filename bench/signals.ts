// Signals benchmark. (a) Sustained runtime ingest: gzip NDJSON batches of 1,000 events POSTed over
// loopback HTTP to /signals/runtime-facts/ndjson (durable: CAS blob, ingest row, aggregated facts,
// timeline event, outbox event, queued recompute), events/s and p99 per batch, next to a parse-only
// baseline of the same bytes in the same run (gunzip + split + JSON.parse), on PostgreSQL and PGlite.
// (b) Recompute on a seeded synthetic graph of 200k nodes / 1M edges with 1,000 targets, from a loaded
// graph and including the load (CSR bytes → arrays → two BFS → states). (c) Peak memory of (b),
// measured in a child process of its own so (a) does not inflate it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  bfs,
  computeReachability,
  decodeCsr,
  encodeCsr,
  normalizeGraph,
  type ScoringOptions,
  toCsr,
} from '@stella/signals';
import { createDatabase, startPostgres } from '@stella/testkit';
import { adminToken, withBenchServer } from './kit.ts';

// The figures; the env variables only shorten trial runs.
const BATCH_EVENTS = 1000;
const BATCHES = Number(process.env.STELLA_BENCH_SIGNALS_BATCHES ?? 300);
const WARMUP_BATCHES = 20;
/** Concurrent uploads: a handful of observers flushing at once, as seed 001's sampler would. */
const CONCURRENCY = Number(process.env.STELLA_BENCH_SIGNALS_CONCURRENCY ?? 4);
const GRAPH_NODES = Number(process.env.STELLA_BENCH_SIGNALS_NODES ?? 200_000);
const GRAPH_EDGES = Number(process.env.STELLA_BENCH_SIGNALS_EDGES ?? 1_000_000);
const TARGETS = 1000;
const SUBJECTS = 8;
const RUNTIME_SYMBOLS = 5000;

/** Deterministic PRNG (mulberry32) so every run builds the same graph and batches. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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

const scoring: ScoringOptions = {
  weights: { entrypoint: 1, direct: 0.85, runtime: 0.45, unknown: 0.5, unreachable: 0 },
  reachableConfidence: 0.75,
  unreachableConfidence: 0.25,
  runtimeBonus: 0.15,
  minConfidence: 0.05,
  maxConfidence: 0.99,
  unknownsPressureCeiling: 0.35,
  runtimeAbsenceIsEvidence: false,
};

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
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

  const runs: { load: number; compute: number; total: number }[] = [];
  let reachable = 0;
  for (let i = 0; i < 5; i++) {
    const a = performance.now();
    const csr = decodeCsr(bytes);
    const index = new Map<string, number>();
    for (let k = 0; k < csr.ids.length; k++) index.set(csr.ids[k]!, k);
    const b = performance.now();
    const result = computeReachability(
      { csr, index, targets, hits, searches: { strict: bfs(csr, false), loose: bfs(csr, true) } },
      scoring,
    );
    const c = performance.now();
    reachable = result.states.filter((s) => s.reachable).length;
    runs.push({ load: b - a, compute: c - b, total: c - a });
  }
  const best = (key: 'load' | 'compute' | 'total') => round(Math.min(...runs.map((r) => r[key])));
  const median = (key: 'load' | 'compute' | 'total') => round([...runs.map((r) => r[key])].sort((x, y) => x - y)[2]!);
  return {
    targets: TARGETS,
    reachableTargets: reachable,
    recomputeFromLoadedMs: { median: median('compute'), best: best('compute') },
    loadMs: { median: median('load'), best: best('load') },
    recomputeIncludingLoadMs: { median: median('total'), best: best('total') },
  };
}

function batches(count: number, seed: number): Buffer[] {
  const rand = prng(seed);
  const out: Buffer[] = [];
  for (let b = 0; b < count; b++) {
    const lines: string[] = [];
    for (let i = 0; i < BATCH_EVENTS; i++) {
      lines.push(
        JSON.stringify({
          symbolId: `pkg:npm/bench:fn${Math.floor(rand() * RUNTIME_SYMBOLS)}`,
          hitCount: 1 + Math.floor(rand() * 5),
          processName: 'node',
          containerId: `c${b % 7}`,
          observedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, b, i)).toISOString(),
        }),
      );
    }
    out.push(gzipSync(`${lines.join('\n')}\n`, { level: 6 }));
  }
  return out;
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

async function ingestBackend(backend: 'pglite' | 'postgres', bodies: Buffer[], warmup: Buffer[], url?: string) {
  return withBenchServer('signals', url, async (server, home) => {
    const token = await adminToken(server, home);
    const headers = { authorization: `Bearer ${token}`, 'x-stella-tenant': 'default' };
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
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(graph),
    });
    const { callgraphId } = (await cg.json()) as { callgraphId: string };
    const post = async (body: Buffer, i: number) => {
      const t0 = performance.now();
      const res = await fetch(
        `${server.url}/signals/runtime-facts/ndjson?callgraphId=${callgraphId}&scanId=bench-${i % SUBJECTS}`,
        {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
          body,
        },
      );
      await res.arrayBuffer();
      if (res.status !== 202) throw new Error(`ingest answered ${res.status}`);
      return performance.now() - t0;
    };
    const run = async (list: Buffer[]) => {
      const latencies: number[] = [];
      let next = 0;
      const start = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < list.length) {
            const i = next++;
            latencies.push(await post(list[i]!, i));
          }
        }),
      );
      const seconds = (performance.now() - start) / 1000;
      latencies.sort((a, b) => a - b);
      return {
        batches: list.length,
        events: list.length * BATCH_EVENTS,
        seconds: round(seconds, 2),
        eventsPerSecond: Math.round((list.length * BATCH_EVENTS) / seconds),
        batchP50Ms: round(percentile(latencies, 50)),
        batchP99Ms: round(percentile(latencies, 99)),
      };
    };
    await run(warmup);
    const result = await run(bodies);
    const version = (await server.ctx.db.query<{ v: string }>(`select current_setting('server_version') as v`)).rows[0]
      ?.v;
    return { backend, version, ...result };
  });
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
  // STELLA_BENCH_SIGNALS_PART=ingest skips (b) and PGlite, for profiling the ingest path.
  const ingestOnly = process.env.STELLA_BENCH_SIGNALS_PART === 'ingest';
  try {
    if (!ingestOnly) recompute = { build: child('--build-child'), ...child('--recompute-child') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.error(`recompute: ${JSON.stringify(recompute)}`);

  const bodies = batches(BATCHES, 1);
  const warmup = batches(WARMUP_BATCHES, 2);
  const baseline = parseOnly(bodies);
  const ingest: Record<string, unknown> = {};
  const cluster = await startPostgres();
  try {
    const database = await createDatabase(cluster.adminUrl, cluster.appUrl, 'bench_signals');
    try {
      ingest.postgres = await ingestBackend('postgres', bodies, warmup, database.url);
      console.error(`postgres: ${JSON.stringify(ingest.postgres)}`);
    } finally {
      await database.drop();
    }
  } finally {
    await cluster.stop();
  }
  if (ingestOnly) return { ingest, baseline };
  ingest.pglite = await ingestBackend('pglite', bodies, warmup);
  console.error(`pglite: ${JSON.stringify(ingest.pglite)}`);
  const ratio = (r: unknown) =>
    Number(((r as { eventsPerSecond: number }).eventsPerSecond / baseline.eventsPerSecond).toFixed(3));
  return {
    area: 'signals',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 1024 ** 3), node: process.version },
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
