// Scale curves (issue 17, item 5): `npm run bench -- scale` (long; not in CI). Per backend one server
// whose store grows through STELLA_BENCH_SCALE_SIZES; at each size: `GET /advisories/raw?cve=` and
// `GET /v1/lnm/linksets?cve=` latencies, a json:raw export run at the export sizes, then the AOC ingest
// rate of the next window of documents (so the rate is "at N stored rows"). Then the Signals recompute
// on synthetic graphs of STELLA_BENCH_SCALE_EDGES edges. Writes the JSON result (bench/run.ts) and
// the two PNG plots; `npm run bench -- scale --plot <result.json>` re-renders the plots from a result.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { aocService } from '@stella/aoc';
import type { RunningServer } from '@stella/server';
import { createDatabase, startPostgres } from '@stella/testkit';
import {
  adminToken,
  type BenchApi,
  benchApi,
  benchMachine,
  createLoader,
  LOAD_BATCH,
  memorySampler,
  type OsvTemplate,
  osvTemplates,
  osvVariant,
  osvVariantDoc,
  postgresCpuSeconds,
  submitExportRun,
  TENANT,
  withBenchServer,
  workerSecondsSum,
} from './kit.ts';
import { prng } from './prng.ts';
import { recomputeAt } from './scale-graph.ts';
import { type ScaleResult, scaleTables, writeScalePlots } from './scale-report.ts';

const list = (name: string, fallback: string) =>
  (process.env[name] ?? fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

// The sizes; the variables only shorten trial runs (or add PGlite, whose loading of 1M is slow).
const SIZES = list('STELLA_BENCH_SCALE_SIZES', '10000,100000,1000000').map(Number);
const BACKENDS = list('STELLA_BENCH_SCALE_BACKENDS', 'postgres') as Array<'postgres' | 'pglite'>;
const EDGES = list('STELLA_BENCH_SCALE_EDGES', '1000000,5000000').map(Number);
/** Sizes at which a json:raw export runs (each must be one of SIZES). */
const EXPORT_SIZES = list('STELLA_BENCH_SCALE_EXPORT_SIZES', '100000,1000000').map(Number);
/** Documents whose ingest is timed at each size: large enough to span several batches and a few seconds. */
const WINDOW = Number(process.env.STELLA_BENCH_SCALE_WINDOW ?? 5_000);
/** Sequential requests per endpoint and size, after WARMUP_LOOKUPS unmeasured ones. */
const LOOKUPS = Number(process.env.STELLA_BENCH_SCALE_LOOKUPS ?? 500);
const WARMUP_LOOKUPS = 20;
const PLOT_DIR = process.env.STELLA_BENCH_SCALE_PLOT_DIR ?? 'docs';

const round = (v: number, d = 1) => Number(v.toFixed(d));

/** `npm run bench -- scale [--plot <result.json>]`; with --plot returns undefined (nothing new to write). */
export async function runScaleBench(args: string[] = []): Promise<ScaleResult | undefined> {
  const plotAt = args.indexOf('--plot');
  if (plotAt >= 0) {
    const file = args[plotAt + 1];
    if (!file) throw new Error('usage: npm run bench -- scale --plot <bench/results/scale-….json>');
    const result = JSON.parse(readFileSync(file, 'utf8')) as ScaleResult;
    await report(result);
    return undefined;
  }
  const missing = EXPORT_SIZES.filter((n) => !SIZES.includes(n));
  if (missing.length) console.error(`scale: export sizes ${missing.join(', ')} are not among the sizes; skipped`);
  const sizes = [...SIZES].sort((a, b) => a - b);
  const started = { date: new Date().toISOString(), load: round(loadavg()[0]!, 2), at: performance.now() };

  // The recompute first: its children should not share the machine with a loaded PostgreSQL.
  const recompute = [];
  const dir = mkdtempSync(join(tmpdir(), 'stella-bench-scale-graph-'));
  try {
    for (const edges of EDGES) {
      const point = recomputeAt(dir, edges);
      console.error(`recompute at ${edges} edges: ${JSON.stringify(point)}`);
      recompute.push(point);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const aoc: ScaleResult['aoc'] = {};
  const templates = osvTemplates();
  for (const backend of BACKENDS) {
    if (backend === 'postgres') {
      const cluster = await startPostgres();
      try {
        const database = await createDatabase(cluster.adminUrl, cluster.appUrl, 'bench_scale');
        try {
          aoc.postgres = await benchBackend('postgres', sizes, templates, database.url);
        } finally {
          await database.drop();
        }
      } finally {
        await cluster.stop();
      }
    } else {
      aoc.pglite = await benchBackend('pglite', sizes, templates);
    }
  }

  const result: ScaleResult = {
    command: 'npm run bench -- scale',
    date: started.date,
    machine: benchMachine(started.load),
    totalSeconds: Math.round((performance.now() - started.at) / 1000),
    settings: {
      sizes,
      exportSizes: EXPORT_SIZES.filter((n) => sizes.includes(n)),
      ingestWindow: WINDOW,
      lookups: LOOKUPS,
      loadBatch: LOAD_BATCH,
      edges: EDGES,
    },
    aoc,
    recompute,
  };
  await report(result);
  return result;
}

async function report(result: ScaleResult) {
  const files = await writeScalePlots(result, PLOT_DIR);
  console.error(scaleTables(result));
  for (const f of files) console.error(`wrote ${f}`);
}

type Backend = 'postgres' | 'pglite';

async function benchBackend(backend: Backend, sizes: number[], templates: OsvTemplate[], url?: string) {
  return withBenchServer(
    `scale-${backend}`,
    url,
    async (server, home) => {
      await createExportProfile(benchApi(server, await adminToken(server, home)));
      const loader = createLoader(aocService(server.ctx), (n) => osvVariant(templates, n), backend);
      const version = (await server.ctx.db.query<{ v: string }>(`select current_setting('server_version') as v`))
        .rows[0]?.v;
      const points = [];
      let warmedUp = false;
      for (const wanted of sizes) {
        // A window larger than the gap to the next size has already passed it.
        const size = Math.max(wanted, loader.loaded);
        if (size !== wanted) console.error(`${backend}: ${wanted} already passed; measuring at ${size}`);
        const loadStarted = performance.now();
        await loader.loadTo(size);
        const loadSeconds = round((performance.now() - loadStarted) / 1000);
        // Fresh statistics, as autovacuum would give tables that just grew tenfold.
        await server.ctx.db.query('analyze');
        const databaseMiB = await databaseSize(server);
        console.error(`${backend}: ${size} stored (loaded in ${loadSeconds} s, database ${databaseMiB} MiB)`);
        // A fresh token per size: loading the next size can outlast one.
        const token = await adminToken(server, home);
        const api = benchApi(server, token);
        if (!warmedUp) {
          // JITs the export path and creates the tenant's signing key before anything is measured.
          await exportRun(server, api, 'warmup', size);
          warmedUp = true;
        }
        const lookups = await measureLookups(server, token, templates, size);
        console.error(`${backend} at ${size}: lookups ${JSON.stringify(lookups)}`);
        const exported = EXPORT_SIZES.includes(wanted) ? await exportRun(server, api, `n${size}`, size) : undefined;
        if (exported) console.error(`${backend} at ${size}: export ${JSON.stringify(exported)}`);
        const ingest = await measureIngest(backend, loader, size);
        console.error(`${backend} at ${size}: ingest ${JSON.stringify(ingest)}`);
        points.push({
          storedRows: size,
          loadSeconds,
          databaseMiB,
          ingest,
          lookups,
          ...(exported ? { export: exported } : {}),
        });
      }
      return { backend, version, stores: loader.stores, averageDocumentBytes: loader.averageDocumentBytes, points };
    },
    // Tokens live 5 minutes by default; an export run at 1M documents, polled with one, may take longer.
    { yaml: 'auth:\n  tokenTtlSeconds: 3600\n' },
  );
}

async function databaseSize(server: RunningServer): Promise<number> {
  const { rows } = await server.ctx.db.query<{ bytes: string }>(
    'select pg_database_size(current_database())::text as bytes',
  );
  return Math.round(Number(rows[0]!.bytes) / 2 ** 20);
}

async function measureIngest(backend: Backend, loader: ReturnType<typeof createLoader>, stored: number) {
  const serverCpu = process.cpuUsage();
  const pgCpu = backend === 'postgres' ? postgresCpuSeconds() : 0;
  const started = performance.now();
  await loader.loadTo(stored + WINDOW, true);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(serverCpu);
  return {
    documents: WINDOW,
    seconds: round(seconds, 3),
    documentsPerSecond: Math.round(WINDOW / seconds),
    // CPU seconds per wall second during the window (2 = both cores busy).
    cpuCores: {
      server: round((used.user + used.system) / 1e6 / seconds, 2),
      ...(backend === 'postgres' ? { postgres: round((postgresCpuSeconds() - pgCpu) / seconds, 2) } : {}),
    },
  };
}

/** Percentiles by nearest rank over the sorted latencies. */
function latencyStats(ms: number[]) {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (p: number) => round(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!, 2);
  return {
    requests: sorted.length,
    p50Ms: at(0.5),
    p90Ms: at(0.9),
    p99Ms: at(0.99),
    maxMs: round(sorted.at(-1)!, 2),
    meanMs: round(sorted.reduce((s, v) => s + v, 0) / sorted.length, 2),
  };
}

/**
 * LOOKUPS sequential requests per endpoint over loopback, each CVE the alias of a stored document
 * drawn with a seeded generator (the same draws at every run); every answer must name it.
 */
async function measureLookups(server: RunningServer, token: string, templates: OsvTemplate[], stored: number) {
  const headers = { authorization: `Bearer ${token}`, 'x-stella-tenant': TENANT };
  const endpoints = {
    advisoriesRawByCve: {
      path: (cve: string) => `/advisories/raw?cve=${cve}&limit=50`,
      found: (body: { items?: unknown[] }) => (body.items?.length ?? 0) > 0,
    },
    linksetsByCve: {
      path: (cve: string) => `/v1/lnm/linksets?cve=${cve}&pageSize=10`,
      found: (body: { observations?: unknown[] }) => (body.observations?.length ?? 0) > 0,
    },
  };
  const out: Record<string, ReturnType<typeof latencyStats>> = {};
  for (const [name, endpoint] of Object.entries(endpoints)) {
    const rand = prng(stored);
    const latencies: number[] = [];
    for (let i = 0; i < WARMUP_LOOKUPS + LOOKUPS; i++) {
      const n = Math.floor(rand() * stored);
      const cve = (osvVariantDoc(templates, n).doc.aliases as string[])[0]!;
      const started = performance.now();
      const res = await fetch(`${server.url}${endpoint.path(cve)}`, { headers });
      const text = await res.text();
      const ms = performance.now() - started;
      if (!res.ok) throw new Error(`${endpoint.path(cve)}: ${res.status} ${text.slice(0, 500)}`);
      if (!endpoint.found(JSON.parse(text))) throw new Error(`${endpoint.path(cve)}: document ${n} not found`);
      if (i >= WARMUP_LOOKUPS) latencies.push(ms);
    }
    out[name] = latencyStats(latencies);
  }
  return out as { advisoriesRawByCve: ReturnType<typeof latencyStats>; linksetsByCve: ReturnType<typeof latencyStats> };
}

async function createExportProfile(api: BenchApi) {
  await api('/api/export/profiles', {
    method: 'POST',
    body: JSON.stringify({
      apiVersion: 'stellaops.io/export.v1',
      kind: 'ExportProfile',
      metadata: { name: 'bench-scale-raw' },
      spec: {
        kind: 'json',
        variant: 'raw',
        include: ['advisories', 'vex'],
        distribution: ['http'],
        compression: { codec: 'zstd', level: 3 },
      },
    }),
  });
}

interface RunView {
  runId: string;
  status: string;
  records: number | null;
  errors: unknown;
  bundle: { bytes: number } | null;
}

/** json:raw over every stored document, submit → succeeded, with this process's (the server's) memory sampled. */
async function exportRun(server: RunningServer, api: BenchApi, label: string, stored: number) {
  const workerBefore = await workerSecondsSum(server);
  const sampler = memorySampler();
  const started = performance.now();
  const run = await submitExportRun<RunView>(api, 'bench-scale-raw', label);
  const seconds = (performance.now() - started) / 1000;
  const memory = sampler.stop();
  if (run.records !== stored) throw new Error(`export ${label}: ${run.records} records, expected ${stored}`);
  return {
    records: run.records,
    seconds: round(seconds, 3),
    workerSeconds: round((await workerSecondsSum(server)) - workerBefore, 3),
    recordsPerSecond: Math.round(stored / seconds),
    bundleBytes: run.bundle?.bytes ?? null,
    memory,
  };
}
