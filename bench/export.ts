// Export Center benchmark: one json:raw run over 100,000 raw documents end to end (submit over HTTP →
// succeeded), next to the Debian CLIs (`tar | zstd -3 -T1`) on the same uncompressed payload in the
// same run, and the in-process worker's peak memory at two sizes (it should not grow with the
// number of documents). PostgreSQL and PGlite, each with one in-process server on 127.0.0.1 in a
// temporary directory that is removed afterwards.
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createZstdCompress, constants as zlibConstants } from 'node:zlib';
import { aocService } from '@stella/aoc';
import { type BundleEntry, verifyBundle, writeBundle } from '@stella/export';
import type { RunningServer } from '@stella/server';
import { advisoryFixtures, createDatabase, startPostgres } from '@stella/testkit';
import {
  adminToken,
  type BenchDocument,
  benchApi,
  createLoader,
  jsonFiles,
  memorySampler,
  submitExportRun,
  TENANT,
  timed,
  withBenchServer,
  workerSecondsSum,
} from './kit.ts';

// The figures; the variables only shorten trial runs.
const DOCUMENTS = Number(process.env.STELLA_BENCH_EXPORT_DOCUMENTS ?? 100_000);
/** The smaller size of the memory comparison. */
const SMALL = Number(process.env.STELLA_BENCH_EXPORT_SMALL ?? 20_000);
/** PGlite's size (loading is slower there); defaults to the same as PostgreSQL. */
const PGLITE_DOCUMENTS = Number(process.env.STELLA_BENCH_EXPORT_PGLITE_DOCUMENTS ?? DOCUMENTS);
/** `postgres`, `pglite` or both (default). */
const BACKENDS = (process.env.STELLA_BENCH_EXPORT_BACKENDS ?? 'postgres,pglite').split(',');
/** A first run that JITs the export path and creates the tenant's signing key before anything is measured. */
const WARMUP_DOCUMENTS = 1_000;
const LEVEL = 3;
const FIXTURES = advisoryFixtures();

interface Template {
  family: string;
  vendor: string;
  doc: Record<string, unknown>;
}

/**
 * The mix, by position n % 20: 14 Go vulndb OSV (70 %), 4 GHSA OSV (20 %), 1 OpenVEX and 1 CSAF VEX
 * (5 % each, into vex_raw). Each variant gets a unique upstream id; everything else is the fixture.
 */
const SLOTS: string[] = [...Array(14).fill('osv-go'), ...Array(4).fill('ghsa'), 'openvex', 'csaf-vex'];

function loadTemplates(): Map<string, Template[]> {
  const families: Array<{ family: string; vendor: string; files: string[] }> = [
    { family: 'osv-go', vendor: 'osv-go-bench', files: jsonFiles(join(FIXTURES, 'osv-go/current')) },
    {
      family: 'ghsa',
      vendor: 'ghsa-bench',
      files: jsonFiles(join(FIXTURES, 'ghsa')).filter((f) => /\/GHSA-[^/]+\.json$/.test(f)),
    },
    { family: 'openvex', vendor: 'openvex-bench', files: jsonFiles(join(FIXTURES, 'openvex')) },
    {
      family: 'csaf-vex',
      vendor: 'csaf-vex-bench',
      files: [
        ...jsonFiles(join(FIXTURES, 'csaf/oasis-csaf-2.0-examples/csaf/csaf_vex')),
        ...jsonFiles(join(FIXTURES, 'csaf/redhat-vex-via-trivy-db')),
      ],
    },
  ];
  const out = new Map<string, Template[]>();
  for (const f of families) {
    out.set(
      f.family,
      f.files.map((file) => ({
        family: f.family,
        vendor: f.vendor,
        doc: JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>,
      })),
    );
  }
  return out;
}

const GHSA_ALPHABET = '23456789cfghjmpqrvwx';

function ghsaId(n: number): string {
  let s = '';
  for (let i = 0, v = n; i < 12; i++, v = Math.floor(v / GHSA_ALPHABET.length)) s += GHSA_ALPHABET[v % 20];
  return `GHSA-${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8)}`;
}

const BASE_TIME = Date.parse('2026-01-01T00:00:00Z');

/** Document n of the corpus: the same n always gives the same bytes, so runs can be compared. */
function variant(templates: Map<string, Template[]>, n: number): BenchDocument {
  const slot = SLOTS[n % SLOTS.length]!;
  const pool = templates.get(slot)!;
  const t = pool[Math.floor(n / SLOTS.length) % pool.length]!;
  const doc = structuredClone(t.doc);
  const time = new Date(BASE_TIME + n * 1000).toISOString().replace('.000Z', 'Z');
  switch (slot) {
    case 'osv-go':
      // As bench/aoc.ts's osvVariants: a new id and `modified`, the rest untouched.
      doc.id = `GO-BENCH-${String(n).padStart(6, '0')}`;
      doc.modified = time;
      break;
    case 'ghsa':
      doc.id = ghsaId(n);
      doc.modified = time;
      break;
    case 'openvex':
      doc['@id'] = `https://openvex.dev/docs/stella-bench/vex-${n}`;
      break;
    default: {
      const document = doc.document as { tracking: { id: string } };
      document.tracking.id = `STELLA-BENCH-VEX-${n}`;
    }
  }
  // Upstream serialisation: 2-space indent (the Go, GHSA, OpenVEX and CSAF files all use it).
  return { vendor: t.vendor, text: JSON.stringify(doc, null, 2), time };
}

interface RunView {
  runId: string;
  status: string;
  records: number | null;
  errors: unknown;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  bundle: { digest: string; bytes: number; tarDigest: string | null } | null;
}

/** The run's phases from its events: queue wait, planning (count), data (read + JSONL), pack/sign/verify/store, finish. */
async function phases(server: RunningServer, run: RunView): Promise<Record<string, number>> {
  const rows = await server.ctx.db.transaction(
    async (q) =>
      (
        await q.query<{ seq: number; type: string; data: { ts?: string; progress?: { itemsCompleted: number } } }>(
          'select seq, type, data from export_events where run_id = $1 order by seq',
          [run.runId],
        )
      ).rows,
    { tenant: TENANT },
  );
  const at = (row: (typeof rows)[number] | undefined) => (row?.data.ts ? Date.parse(row.data.ts) : Number.NaN);
  const started = rows.find((r) => r.type === 'started');
  const progress = rows.filter((r) => r.type === 'progress');
  const ready = rows.find((r) => r.type === 'artifact_ready');
  const completed = rows.find((r) => r.type === 'completed') ?? rows.at(-1);
  const s = (a: number, b: number) => Number(((b - a) / 1000).toFixed(3));
  const firstProgress = at(progress[0]);
  const lastProgress = at(progress.at(-1));
  const done = run.completedAt ? Date.parse(run.completedAt) : at(completed);
  return {
    queued: s(Date.parse(run.createdAt), at(started)),
    plan: s(at(started), firstProgress),
    data: s(firstProgress, lastProgress),
    packSignVerifyStore: s(lastProgress, at(ready)),
    finish: s(at(ready), done),
  };
}

function sh(script: string): void {
  execFileSync('bash', ['-c', `set -euo pipefail; ${script}`], { stdio: ['ignore', 'ignore', 'inherit'] });
}

const mb = (bytes: number) => bytes / 1e6;
const round = (n: number, digits = 2) => Number(n.toFixed(digits));

export async function runExportBench() {
  const templates = loadTemplates();
  const results: Record<string, unknown> = {
    command: 'npm run bench -- export',
    node: process.version,
    zstdLibrary: process.versions.zstd,
    zstdCli: execFileSync('zstd', ['--version'], { encoding: 'utf8' }).trim(),
    tarCli: execFileSync('tar', ['--version'], { encoding: 'utf8' }).split('\n')[0],
    cpus: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    documents: DOCUMENTS,
    small: SMALL,
    mix: Object.fromEntries(
      [...templates].map(([family, list]) => [
        family,
        { share: SLOTS.filter((s) => s === family).length / SLOTS.length, templates: list.length },
      ]),
    ),
    level: LEVEL,
    date: new Date().toISOString(),
    // The machine is shared: other work running at the same time shows here, not in the figures.
    loadAverageAtStart: round(loadavg()[0]!),
  };
  if (BACKENDS.includes('postgres')) {
    const cluster = await startPostgres();
    try {
      const database = await createDatabase(cluster.adminUrl, cluster.appUrl, 'bench_export');
      try {
        results.postgres = await benchBackend('postgres', templates, DOCUMENTS, database.url);
      } finally {
        await database.drop();
      }
    } finally {
      await cluster.stop();
    }
  }
  if (BACKENDS.includes('pglite')) results.pglite = await benchBackend('pglite', templates, PGLITE_DOCUMENTS);
  results.loadAverageAtEnd = round(loadavg()[0]!);
  return results;
}

async function benchBackend(
  backend: 'pglite' | 'postgres',
  templates: Map<string, Template[]>,
  documents: number,
  url?: string,
) {
  return withBenchServer('export', url, (server, home) => measure(backend, server, home, templates, documents));
}

async function measure(
  backend: 'pglite' | 'postgres',
  server: RunningServer,
  home: string,
  templates: Map<string, Template[]>,
  documents: number,
) {
  const version = (await server.ctx.db.query<{ v: string }>(`select current_setting('server_version') as v`)).rows[0]
    ?.v;
  const token = await adminToken(server, home);
  const api = benchApi(server, token);
  await api('/api/export/profiles', {
    method: 'POST',
    body: JSON.stringify({
      apiVersion: 'stellaops.io/export.v1',
      kind: 'ExportProfile',
      metadata: { name: 'bench-raw' },
      spec: {
        kind: 'json',
        variant: 'raw',
        include: ['advisories', 'vex'],
        distribution: ['http'],
        compression: { codec: 'zstd', level: LEVEL },
      },
    }),
  });

  /** Submit → succeeded, polling the run every 100 ms, with the memory sampler running. */
  const exportRun = async (label: string) => {
    const workerBefore = await workerSecondsSum(server);
    const sampler = memorySampler();
    const started = performance.now();
    const run = await submitExportRun<RunView>(api, 'bench-raw', label);
    const seconds = (performance.now() - started) / 1000;
    const memory = sampler.stop();
    return {
      run,
      seconds: round(seconds, 3),
      workerSeconds: round((await workerSecondsSum(server)) - workerBefore, 3),
      phasesSeconds: await phases(server, run),
      memory,
    };
  };

  const work = join(home, 'bench-work');
  mkdirSync(work);
  /** Downloads a run's bundle and decompresses it to the plain tar (with the zstd CLI). */
  const download = async (runId: string, name: string) => {
    const bundle = join(work, `${name}.tar.zst`);
    const res = await api(`/api/export/runs/${runId}/download`);
    await pipeline(Readable.fromWeb(res.body as never), createWriteStream(bundle));
    const tar = join(work, `${name}.tar`);
    sh(`zstd -d -q -f -o '${tar}' '${bundle}'`);
    return { bundle, tar, tarBytes: statSync(tar).size, bundleBytes: statSync(bundle).size };
  };

  const loader = createLoader(aocService(server.ctx), (n) => variant(templates, n), backend);
  const summarise = async (label: string, n: number) => {
    const r = await exportRun(label);
    if (r.run.records !== n) throw new Error(`${label}: ${r.run.records} records, expected ${n}`);
    const files = await download(r.run.runId, label);
    const row = {
      documents: n,
      records: r.run.records,
      seconds: r.seconds,
      workerSeconds: r.workerSeconds,
      tarBytes: files.tarBytes,
      bundleBytes: r.run.bundle!.bytes,
      compressionRatio: round(files.tarBytes / r.run.bundle!.bytes, 2),
      uncompressedMBps: round(mb(files.tarBytes) / r.seconds, 1),
      documentsPerSecond: Math.round(n / r.seconds),
      phasesSeconds: r.phasesSeconds,
      memory: r.memory,
      bundleDigest: r.run.bundle!.digest,
      tarDigest: r.run.bundle!.tarDigest,
    };
    console.error(
      `${backend} ${label}: ${n} records in ${row.seconds} s (${row.uncompressedMBps} MB/s of ${round(mb(row.tarBytes), 1)} MB tar → ${round(mb(row.bundleBytes), 1)} MB), ` +
        `RSS +${row.memory.rssGrowthMiB} MiB, phases ${JSON.stringify(row.phasesSeconds)}`,
    );
    return { row, files };
  };

  console.error(`${backend}: warm-up run over ${WARMUP_DOCUMENTS} documents`);
  await loader.loadTo(WARMUP_DOCUMENTS);
  const warmup = await exportRun('warmup');

  const sizes = SMALL < documents ? [SMALL, documents] : [documents];
  const rows: Record<string, unknown>[] = [];
  let last: Awaited<ReturnType<typeof summarise>> | undefined;
  for (const n of sizes) {
    const loadStarted = performance.now();
    await loader.loadTo(n);
    console.error(`${backend}: ${n} documents loaded in ${round((performance.now() - loadStarted) / 1000, 1)} s`);
    // Fresh statistics, as autovacuum would give a table that just grew fivefold.
    await server.ctx.db.query('analyze advisory_raw');
    await server.ctx.db.query('analyze vex_raw');
    last = await summarise(`n${n}`, n);
    rows.push(last.row);
  }
  const big = last!;
  const repeat = await summarise('repeat', documents);

  // ---- baselines on the same payload: the downloaded bundle's files ----
  const tree = join(work, 'tree');
  mkdirSync(tree);
  sh(`tar -xf '${big.files.tar}' -C '${tree}'`);
  const cliOut = join(work, 'cli.tar.zst');
  const cli = [];
  for (let i = 0; i < 2; i++) {
    cli.push((await timed(() => sh(`tar -cf - -C '${tree}' . | zstd -${LEVEL} -T1 -q -f -o '${cliOut}'`))).seconds);
  }
  const cliBytes = statSync(cliOut).size;
  const zstdOnly = (
    await timed(() => sh(`zstd -${LEVEL} -T1 -q -f -o '${join(work, 'zstd-only.tar.zst')}' '${big.files.tar}'`))
  ).seconds;
  // Our writer alone on the same files (tar-stream + node:zlib zstd + two SHA-256 taps), no DB, signing or CAS.
  const entries: BundleEntry[] = listTree(tree).map((path) => ({
    path,
    size: statSync(join(tree, path)).size,
    source: join(tree, path),
  }));
  const ours = await timed(() =>
    writeBundle(
      entries,
      { mtime: new Date(BASE_TIME), compression: { codec: 'zstd', level: LEVEL } },
      createWriteStream(join(work, 'ours.tar.zst')),
    ),
  );
  // node:zlib zstd alone on the tar, same parameters as the bundle writer.
  const nodeZstd = await timed(() =>
    pipeline(
      createReadStream(big.files.tar),
      createZstdCompress({
        params: {
          [zlibConstants.ZSTD_c_compressionLevel]: LEVEL,
          [zlibConstants.ZSTD_c_checksumFlag]: 1,
        },
      }),
      createWriteStream(join(work, 'node-zstd.tar.zst')),
    ),
  );
  // The same with 1 MiB reads instead of createReadStream's 64 KiB: how much is per-chunk overhead.
  const nodeZstdBigReads = await timed(() =>
    pipeline(
      createReadStream(big.files.tar, { highWaterMark: 2 ** 20 }),
      createZstdCompress({
        params: {
          [zlibConstants.ZSTD_c_compressionLevel]: LEVEL,
          [zlibConstants.ZSTD_c_checksumFlag]: 1,
        },
      }),
      createWriteStream(join(work, 'node-zstd-1m.tar.zst')),
    ),
  );
  const verify = await timed(() => verifyBundle(big.files.bundle));
  if (!verify.value.ok) throw new Error('the downloaded bundle failed verification');
  const cliBest = Math.min(...cli);
  const tarMB = mb(big.files.tarBytes);
  const baseline = {
    payload: `${entries.length} files of the n${documents} bundle, ${round(tarMB, 1)} MB as a tar`,
    files: Object.fromEntries(entries.map((e) => [e.path, e.size])),
    tarPipeZstdSeconds: cli,
    tarPipeZstdMBps: round(tarMB / cliBest, 1),
    tarPipeZstdBytes: cliBytes,
    zstdAloneSeconds: zstdOnly,
    zstdAloneMBps: round(tarMB / zstdOnly, 1),
    oursWriteBundleSeconds: ours.seconds,
    oursWriteBundleMBps: round(tarMB / ours.seconds, 1),
    oursWriteBundleBytes: ours.value.bytes,
    nodeZstdAloneSeconds: nodeZstd.seconds,
    nodeZstdAloneMBps: round(tarMB / nodeZstd.seconds, 1),
    nodeZstd1MiBReadsSeconds: nodeZstdBigReads.seconds,
    nodeZstd1MiBReadsMBps: round(tarMB / nodeZstdBigReads.seconds, 1),
    verifyBundleSeconds: verify.seconds,
    endToEndToCli: round(big.row.seconds / cliBest, 2),
    writeBundleToCli: round(ours.seconds / cliBest, 2),
  };
  console.error(
    `${backend}: tar|zstd -${LEVEL} -T1 ${cliBest} s (${baseline.tarPipeZstdMBps} MB/s); end-to-end/CLI ${baseline.endToEndToCli}×, ` +
      `writeBundle/CLI ${baseline.writeBundleToCli}×, verify ${verify.seconds} s`,
  );
  const small = rows[0] as { memory: { rssGrowthMiB: number; heapUsedGrowthMiB: number } };
  return {
    backend,
    version,
    documents,
    stores: loader.stores,
    averageDocumentBytes: loader.averageDocumentBytes,
    warmupSeconds: warmup.seconds,
    runs: rows,
    repeat: repeat.row,
    sameDigest: repeat.row.bundleDigest === big.row.bundleDigest,
    memoryGrowthRatio:
      rows.length > 1
        ? {
            rss: round(big.row.memory.rssGrowthMiB / small.memory.rssGrowthMiB, 2),
            heapUsed: round(big.row.memory.heapUsedGrowthMiB / small.memory.heapUsedGrowthMiB, 2),
          }
        : null,
    baseline,
  };
}

function listTree(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)).split('\\').join('/'));
}
