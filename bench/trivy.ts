// Trivy DB benchmark (issue 14): a trivy:db run over 100,000 raw advisories (generated variants of the
// OSV fixtures that Trivy can use: GHSA, Go vulndb, PyPA, AlmaLinux, Chainguard) end to end, next to a
// json:raw run of the same advisories in the same run (the ratio), with the worker's peak memory, the
// database's size and build rate, and the same documents as gzip JSON (level 6, what `gzip` gives).
// One in-process server on 127.0.0.1 over PostgreSQL (or PGlite with STELLA_BENCH_TRIVY_BACKEND=pglite)
// in a temporary directory that is removed afterwards.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, statSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { aocService } from '@stella/aoc';
import type { RunningServer } from '@stella/server';
import { createDatabase, startPostgres } from '@stella/testkit';
import {
  adminToken,
  createLoader,
  memorySampler,
  type OsvTemplate,
  osvTemplates,
  osvVariant,
  submitExportRun,
  TENANT,
  timed,
  withBenchServer,
  workerSecondsSum,
} from './kit.ts';

const DOCUMENTS = Number(process.env.STELLA_BENCH_TRIVY_DOCUMENTS ?? 100_000);
const BACKEND = process.env.STELLA_BENCH_TRIVY_BACKEND ?? 'postgres';
const WARMUP_DOCUMENTS = 1_000;
interface RunView {
  runId: string;
  status: string;
  records: number | null;
  errors: unknown;
  bundle: { digest: string; bytes: number } | null;
}

const round = (n: number, digits = 2) => Number(n.toFixed(digits));
const mb = (bytes: number) => bytes / 1e6;

export async function runTrivyBench() {
  const templates = osvTemplates();
  const results: Record<string, unknown> = {
    command: 'npm run bench -- trivy',
    node: process.version,
    cpus: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    documents: DOCUMENTS,
    templates: templates.length,
    backend: BACKEND,
    date: new Date().toISOString(),
    loadAverageAtStart: round(loadavg()[0]!),
  };
  if (BACKEND === 'postgres') {
    const cluster = await startPostgres();
    try {
      const database = await createDatabase(cluster.adminUrl, cluster.appUrl, 'bench_trivy');
      try {
        results.run = await withBenchServer('trivy', database.url, (s, home) => measure(s, home, templates));
      } finally {
        await database.drop();
      }
    } finally {
      await cluster.stop();
    }
  } else {
    results.run = await withBenchServer('trivy', undefined, (s, home) => measure(s, home, templates));
  }
  results.loadAverageAtEnd = round(loadavg()[0]!);
  return results;
}

async function measure(server: RunningServer, home: string, templates: OsvTemplate[]) {
  const token = await adminToken(server, home);
  const api = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${server.url}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${token}`,
        'x-stella-tenant': TENANT,
        ...(init.body ? { 'content-type': 'application/json', 'idempotency-key': randomUUID() } : {}),
      },
    });
    if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${await res.text()}`);
    return res;
  };
  for (const [name, kind, variantName] of [
    ['bench-trivy', 'trivy', 'db'],
    ['bench-raw', 'json', 'raw'],
  ] as const) {
    const spec = { kind, variant: variantName, distribution: ['http'], include: ['advisories'] };
    await api('/api/export/profiles', {
      method: 'POST',
      body: JSON.stringify({ apiVersion: 'stellaops.io/export.v1', kind: 'ExportProfile', metadata: { name }, spec }),
    });
  }
  const exportRun = async (profileId: string) => {
    const workerBefore = await workerSecondsSum(server);
    const sampler = memorySampler();
    const started = performance.now();
    const run = await submitExportRun<RunView>(api, profileId, profileId);
    const seconds = round((performance.now() - started) / 1000, 3);
    return {
      run,
      seconds,
      workerSeconds: round((await workerSecondsSum(server)) - workerBefore, 3),
      memory: sampler.stop(),
    };
  };

  const loader = createLoader(aocService(server.ctx), (n) => osvVariant(templates, n), BACKEND);
  console.error(`warm-up over ${WARMUP_DOCUMENTS} documents`);
  await loader.loadTo(WARMUP_DOCUMENTS);
  await exportRun('bench-trivy');
  await exportRun('bench-raw');
  const loading = await timed(() => loader.loadTo(DOCUMENTS));
  await server.ctx.db.query('analyze advisory_raw');
  console.error(`${DOCUMENTS} documents loaded in ${loading.seconds} s`);

  const raw = await exportRun('bench-raw');
  console.error(`json:raw: ${raw.seconds} s, RSS +${raw.memory.rssGrowthMiB} MiB`);
  const trivy = await exportRun('bench-trivy');
  console.error(`trivy:db: ${trivy.seconds} s, RSS +${trivy.memory.rssGrowthMiB} MiB`);
  const again = await exportRun('bench-trivy');

  const work = join(home, 'bench-work');
  mkdirSync(work);
  const sizes = await databaseSizes(api, trivy.run.runId, work);
  const gzipJson = await gzipOfDocuments(templates, work);
  return {
    loadSeconds: loading.seconds,
    jsonRaw: {
      seconds: raw.seconds,
      workerSeconds: raw.workerSeconds,
      bundleBytes: raw.run.bundle!.bytes,
      memory: raw.memory,
    },
    trivyDb: {
      seconds: trivy.seconds,
      workerSeconds: trivy.workerSeconds,
      records: trivy.run.records,
      bundleBytes: trivy.run.bundle!.bytes,
      ...sizes,
      trivyDbMBps: round(mb(sizes.trivyDbBytes) / trivy.seconds, 1),
      documentsPerSecond: Math.round(DOCUMENTS / trivy.seconds),
      memory: trivy.memory,
      secondRunSeconds: again.seconds,
      sameBundleTwice: again.run.bundle!.digest === trivy.run.bundle!.digest,
    },
    trivyOverJsonRaw: round(trivy.seconds / raw.seconds, 2),
    gzipJson,
    trivyDbOverGzipJson: round(sizes.trivyDbBytes / gzipJson.bytes, 2),
    dbBundleOverGzipJson: round(sizes.dbBundleBytes / gzipJson.bytes, 2),
  };
}

/** The run's trivy.db and db.bundle sizes, and what report.json says it left out. */
async function databaseSizes(api: (path: string) => Promise<Response>, runId: string, work: string) {
  const bundle = join(work, 'trivy.tar.zst');
  const res = await api(`/api/export/runs/${runId}/download`);
  await pipeline(Readable.fromWeb(res.body as never), createWriteStream(bundle));
  const dir = join(work, 'trivy');
  mkdirSync(join(dir, 'db'), { recursive: true });
  execFileSync('tar', ['--zstd', '-xf', bundle, '-C', dir]);
  execFileSync('tar', ['-xzf', join(dir, 'trivy/db.bundle'), '-C', join(dir, 'db')]);
  const report = JSON.parse(readFileSync(join(dir, 'trivy/report.json'), 'utf8')) as Record<string, unknown>;
  return {
    trivyDbBytes: statSync(join(dir, 'db/trivy.db')).size,
    dbBundleBytes: statSync(join(dir, 'trivy/db.bundle')).size,
    report: {
      advisories: report.advisories,
      vulnerabilities: report.vulnerabilities,
      buckets: report.buckets,
      skippedByReason: report.skippedByReason,
    },
  };
}

/** The same documents as one gzip JSONL file (level 6), and how long gzip took. */
async function gzipOfDocuments(templates: OsvTemplate[], work: string) {
  const file = join(work, 'documents.jsonl.gz');
  const lines = function* () {
    for (let n = 0; n < DOCUMENTS; n++) yield `${JSON.stringify(JSON.parse(osvVariant(templates, n).text))}\n`;
  };
  const written = await timed(() =>
    pipeline(Readable.from(lines()), createGzip({ level: 6 }), createWriteStream(file)),
  );
  return { bytes: statSync(file).size, seconds: written.seconds };
}
