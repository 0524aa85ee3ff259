// Mirror benchmark (issue 15): a mirror:full run over 100,000 raw advisories (generated variants of the
// OSV fixtures, as the trivy benchmark loads them), then a new revision of 1 % of them (same upstream
// ids, a later `modified` and a changed summary: new content, so AOC chains a revision instead of
// treating it as an idempotent duplicate) and a mirror:delta run on the full one; each timed and sized,
// next to `tar | zstd -3 -T1` of the same raw documents as files (all of them for the full, the changed
// ones for the delta). Both bundles are then downloaded over HTTP and imported, full then delta, into a
// second, empty site (another PostgreSQL database, or another PGlite home) with importMirrorBundle,
// verified against the export-center key, as `stella offline import` does.
// One in-process server on 127.0.0.1 over PostgreSQL (or PGlite with STELLA_BENCH_MIRROR_BACKEND=pglite)
// in temporary directories that are removed afterwards. The same full export is also built encrypted
// (mode aes-gcm: the data files one by one; mode age: the whole archive) for an age-keygen recipient,
// next to Debian's `age -r` encrypting the plain full bundle, so the cost of encryption has a floor.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { aocService } from '@stella/aoc';
import { decryptBundle, importMirrorBundle, type MirrorImportReceipt } from '@stella/export';
import { type Db, migrateModules, openDatabase } from '@stella/platform';
import { modules, type RunningServer } from '@stella/server';
import { createDatabase, startPostgres } from '@stella/testkit';
import {
  adminToken,
  type BenchApi,
  type BenchDocument,
  benchApi,
  benchConfig,
  benchMachine,
  createLoader,
  downloadRun,
  memorySampler,
  type OsvTemplate,
  osvTemplates,
  osvTime,
  osvVariant,
  osvVariantDoc,
  submitExportRun,
  TENANT,
  timed,
  withBenchServer,
  workerSecondsSum,
} from './kit.ts';

const DOCUMENTS = Number(process.env.STELLA_BENCH_MIRROR_DOCUMENTS ?? 100_000);
const BACKEND = process.env.STELLA_BENCH_MIRROR_BACKEND ?? 'postgres';
/** Every 100th document gets a new revision before the delta: 1 %. */
const CHANGE_STRIDE = 100;
const CHANGED = Math.ceil(DOCUMENTS / CHANGE_STRIDE);
/** docs/runbooks/export.md §3: exporter_run_duration_seconds p95; the goal is to stay 10x under it. */
const SLO_SECONDS = { full: 300, delta: 120 };
const SLO_GOAL_FACTOR = 10;

interface RunView {
  runId: string;
  status: string;
  exportId: string;
  baseExportId: string | null;
  records: number | null;
  errors: unknown;
  bundle: { digest: string; bytes: number } | null;
}

const round = (n: number, digits = 2) => Number(n.toFixed(digits));

/** The i-th changed document: a new revision of document i × 100, retrieved after every original. */
function revised(templates: OsvTemplate[], i: number): BenchDocument {
  const { vendor, doc } = osvVariantDoc(templates, i * CHANGE_STRIDE);
  const time = osvTime(DOCUMENTS + i);
  doc.modified = time;
  doc.summary = `${typeof doc.summary === 'string' ? doc.summary : String(doc.id)} (revised ${time})`;
  return { vendor, text: JSON.stringify(doc, null, 2), time };
}

export async function runMirrorBench() {
  const templates = osvTemplates();
  const started = { date: new Date().toISOString(), load: round(loadavg()[0]!) };
  let run: Awaited<ReturnType<typeof measure>>;
  if (BACKEND === 'postgres') {
    const cluster = await startPostgres();
    try {
      const database = await createDatabase(cluster.adminUrl, cluster.appUrl, 'bench_mirror');
      const site = await createDatabase(cluster.adminUrl, cluster.appUrl, 'bench_mirror_site');
      try {
        run = await withBenchServer('mirror', database.url, (s, home) => measure(s, home, templates, site.url));
      } finally {
        await site.drop();
        await database.drop();
      }
    } finally {
      await cluster.stop();
    }
  } else if (BACKEND === 'pglite') {
    run = await withBenchServer('mirror', undefined, (s, home) => measure(s, home, templates, undefined));
  } else {
    throw new Error(`STELLA_BENCH_MIRROR_BACKEND=${BACKEND}: postgres or pglite`);
  }
  return {
    command: 'npm run bench -- mirror',
    date: started.date,
    documents: DOCUMENTS,
    changedDocuments: CHANGED,
    templates: templates.length,
    backend: BACKEND,
    machine: benchMachine(started.load),
    ...run,
  };
}

async function measure(server: RunningServer, home: string, templates: OsvTemplate[], siteUrl: string | undefined) {
  const api = benchApi(server, await adminToken(server, home));
  const work = join(home, 'bench-work');
  mkdirSync(work);
  const identity = join(work, 'age-key.txt');
  execFileSync('age-keygen', ['-o', identity], { stdio: 'ignore' });
  const recipient = execFileSync('age-keygen', ['-y', identity], { encoding: 'utf8' }).trim();
  const profiles = [
    { name: 'mirror-full', variant: 'full' },
    { name: 'mirror-delta', variant: 'delta' },
    {
      name: 'mirror-full-aes-gcm',
      variant: 'full',
      encryption: { enabled: true, mode: 'aes-gcm', recipientKeys: [recipient] },
    },
    {
      name: 'mirror-full-age',
      variant: 'full',
      encryption: { enabled: true, mode: 'age', recipientKeys: [recipient] },
    },
  ];
  for (const { name, variant, encryption } of profiles) {
    await api('/api/export/profiles', {
      method: 'POST',
      body: JSON.stringify({
        apiVersion: 'stellaops.io/export.v1',
        kind: 'ExportProfile',
        metadata: { name },
        spec: { kind: 'mirror', variant, distribution: ['http'], ...(encryption ? { encryption } : {}) },
      }),
    });
  }
  const exportRun = async (profileId: string, extra: Record<string, unknown> = {}) => {
    const workerBefore = await workerSecondsSum(server);
    const sampler = memorySampler();
    const { seconds, value: run } = await timed(() => submitExportRun<RunView>(api, profileId, profileId, extra));
    return {
      run,
      seconds,
      workerSeconds: round((await workerSecondsSum(server)) - workerBefore, 3),
      memory: sampler.stop(),
    };
  };

  const aoc = aocService(server.ctx);
  const loading = await timed(() => createLoader(aoc, (n) => osvVariant(templates, n), BACKEND).loadTo(DOCUMENTS));
  await server.ctx.db.query('analyze advisory_raw');
  console.error(`${DOCUMENTS} documents loaded in ${loading.seconds} s`);
  const full = await exportRun('mirror-full');
  console.error(`mirror:full: ${full.seconds} s, ${full.run.bundle!.bytes} bytes`);
  const encrypted = await measureEncryption(api, work, full, identity, recipient, exportRun);
  console.error(
    `encrypted: aes-gcm ${encrypted.aesGcm.seconds} s, age ${encrypted.age.seconds} s; age -r of the plain bundle ${encrypted.baseline.ageCliSeconds} s`,
  );

  const changing = await timed(() =>
    createLoader(aoc, (i) => revised(templates, i), `${BACKEND} revisions`).loadTo(CHANGED),
  );
  // The encrypted fulls are newer; the delta is built on the plain one, as its base is named.
  const delta = await exportRun('mirror-delta', { baseExportId: full.run.exportId });
  if (delta.run.baseExportId !== full.run.exportId) {
    throw new Error(`mirror:delta built on ${delta.run.baseExportId}, not the full export ${full.run.exportId}`);
  }
  console.error(`mirror:delta: ${delta.seconds} s, ${delta.run.bundle!.bytes} bytes`);

  const baseline = {
    tool: `tar --sort=name (mtime 0, owner 0) -cf - | zstd -3 -T1 (${execFileSync('zstd', ['--version'], { encoding: 'utf8' }).trim()})`,
    full: await tarZstd(
      work,
      'full',
      Array.from({ length: DOCUMENTS }, (_, n) => n),
      (n) => osvVariant(templates, n),
    ),
    delta: await tarZstd(
      work,
      'delta',
      Array.from({ length: CHANGED }, (_, i) => i),
      (i) => revised(templates, i),
    ),
  };
  console.error(`baseline: full ${baseline.full.seconds} s, delta ${baseline.delta.seconds} s`);

  const imported = await importIntoSite(api, work, full.run, delta.run, siteUrl);
  console.error(`import: full ${imported.full.seconds} s, delta ${imported.delta.seconds} s`);

  const fullGoal = SLO_SECONDS.full / SLO_GOAL_FACTOR;
  const deltaGoal = SLO_SECONDS.delta / SLO_GOAL_FACTOR;
  return {
    loadSeconds: loading.seconds,
    revisionLoadSeconds: changing.seconds,
    full: {
      seconds: full.seconds,
      workerSeconds: full.workerSeconds,
      bytes: full.run.bundle!.bytes,
      records: full.run.records,
      memory: full.memory,
    },
    delta: {
      seconds: delta.seconds,
      workerSeconds: delta.workerSeconds,
      bytes: delta.run.bundle!.bytes,
      // The run's records count the index (the whole state after the delta); carried is what it ships.
      records: delta.run.records,
      carried: imported.delta.receipt.records.inserted + imported.delta.receipt.records.present,
      tombstones: imported.delta.receipt.tombstones,
      memory: delta.memory,
    },
    baseline: {
      tool: baseline.tool,
      fullSeconds: baseline.full.seconds,
      fullBytes: baseline.full.bytes,
      fullInputBytes: baseline.full.inputBytes,
      deltaSeconds: baseline.delta.seconds,
      deltaBytes: baseline.delta.bytes,
      deltaInputBytes: baseline.delta.inputBytes,
    },
    ratios: {
      fullBytesOverBaseline: round(full.run.bundle!.bytes / baseline.full.bytes),
      deltaBytesOverBaseline: round(delta.run.bundle!.bytes / baseline.delta.bytes),
      fullSecondsOverBaseline: round(full.seconds / baseline.full.seconds),
      deltaSecondsOverBaseline: round(delta.seconds / baseline.delta.seconds),
      deltaOverFullBytes: round(delta.run.bundle!.bytes / full.run.bundle!.bytes, 4),
      deltaOverFullSeconds: round(delta.seconds / full.seconds, 3),
    },
    encryption: encrypted,
    import: {
      fullSeconds: imported.full.seconds,
      deltaSeconds: imported.delta.seconds,
      fullRecords: imported.full.receipt.records,
      deltaRecords: imported.delta.receipt.records,
      siteRecords: imported.siteRecords,
      memory: { full: imported.full.memory, delta: imported.delta.memory },
    },
    slo: {
      note: `docs/runbooks/export.md §3: exporter_run_duration_seconds p95 < ${SLO_SECONDS.full} s (full), < ${SLO_SECONDS.delta} s (delta); the goal is ${SLO_GOAL_FACTOR}x under (${fullGoal} s full, ${deltaGoal} s delta) at 100,000 documents${DOCUMENTS === 100_000 ? '' : `; this run has ${DOCUMENTS}, so the figures below do not answer it`}`,
      fullWorkerSeconds: full.workerSeconds,
      deltaWorkerSeconds: delta.workerSeconds,
      fullWithinGoal: full.workerSeconds < fullGoal,
      deltaWithinGoal: delta.workerSeconds < deltaGoal,
    },
  };
}

type ExportRun = (
  profileId: string,
  extra?: Record<string, unknown>,
) => Promise<{ run: RunView; seconds: number; workerSeconds: number; memory: unknown }>;

/**
 * The full export again with each encryption mode, the time `stella export decrypt` takes to give the
 * plaintext back, and Debian's `age -r` over the plain full bundle as the floor of whole-file encryption.
 */
async function measureEncryption(
  api: BenchApi,
  work: string,
  plain: { run: RunView; seconds: number },
  identity: string,
  recipient: string,
  exportRun: ExportRun,
) {
  const plainFile = join(work, 'mirror-full-plain.tar.zst');
  await downloadRun(api, plain.run.runId, plainFile);
  const ageCli = await timed(() =>
    execFileSync('age', ['-r', recipient, '-o', join(work, 'mirror-full-plain.tar.zst.age'), plainFile]),
  );
  const identities = readFileSync(identity, 'utf8');
  const measureMode = async (profileId: string) => {
    const built = await exportRun(profileId);
    const file = join(work, `${profileId}.bundle`);
    await downloadRun(api, built.run.runId, file);
    const out = join(work, `${profileId}.decrypted.tar.zst`);
    const decrypted = await timed(() => decryptBundle(file, identities, out));
    rmSync(out, { force: true });
    return {
      seconds: built.seconds,
      workerSeconds: built.workerSeconds,
      bytes: built.run.bundle!.bytes,
      decryptSeconds: decrypted.seconds,
      memory: built.memory,
    };
  };
  const aesGcm = await measureMode('mirror-full-aes-gcm');
  const age = await measureMode('mirror-full-age');
  return {
    aesGcm,
    age,
    baseline: { tool: 'age -r <recipient> (Debian) over the plain full bundle', ageCliSeconds: ageCli.seconds },
    ratios: {
      aesGcmOverPlainSeconds: round(aesGcm.seconds / plain.seconds, 3),
      ageOverPlainSeconds: round(age.seconds / plain.seconds, 3),
      /** What mode age adds to the run, over what `age -r` alone takes for the same archive. */
      ageExtraOverAgeCli: round((age.seconds - plain.seconds) / ageCli.seconds, 2),
    },
  };
}

/** The documents as one file each, then `tar | zstd -3 -T1` of the directory (timed; writing the files is not). */
async function tarZstd(work: string, name: string, ns: number[], doc: (n: number) => BenchDocument) {
  const dir = join(work, `${name}-documents`);
  mkdirSync(dir);
  let inputBytes = 0;
  for (const n of ns) {
    const text = doc(n).text;
    inputBytes += Buffer.byteLength(text);
    writeFileSync(join(dir, `${String(n).padStart(7, '0')}.json`), text);
  }
  const out = join(work, `${name}-documents.tar.zst`);
  const { seconds } = await timed(() =>
    execFileSync('bash', [
      '-o',
      'pipefail',
      '-c',
      'tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - -C "$1" . | zstd -3 -T1 -q -f -o "$2"',
      'tar-zstd',
      dir,
      out,
    ]),
  );
  rmSync(dir, { recursive: true, force: true });
  return { seconds, bytes: statSync(out).size, inputBytes };
}

/** Downloads both bundles and imports them, full then delta, into an empty second site, timing each import. */
async function importIntoSite(api: BenchApi, work: string, full: RunView, delta: RunView, siteUrl: string | undefined) {
  const keys = (await (await api('/api/export/keys')).json()) as { keys: { status: string; publicKeyPem: string }[] };
  const trustRootPem = keys.keys.find((k) => k.status === 'active')?.publicKeyPem;
  if (!trustRootPem) throw new Error('GET /api/export/keys: no active key');
  const bundles = { full: join(work, 'mirror-full.tar.zst'), delta: join(work, 'mirror-delta.tar.zst') };
  for (const [file, run] of [
    [bundles.full, full],
    [bundles.delta, delta],
  ] as const) {
    const bytes = await downloadRun(api, run.runId, file);
    if (bytes !== run.bundle!.bytes)
      throw new Error(`${file}: downloaded ${bytes} bytes, the run says ${run.bundle!.bytes}`);
  }

  const siteHome = mkdtempSync(join(tmpdir(), 'stella-bench-mirror-site-'));
  try {
    const config = benchConfig(siteHome, siteUrl);
    // What the CLI passes as CliCtx.migrate: every module's migrations.
    const migrate = (db: Db) => migrateModules(db, modules);
    // The site is an installed stella: its schema exists before the first bundle arrives, so the import
    // times do not include creating it.
    const db = await openDatabase(config);
    try {
      await migrate(db);
    } finally {
      await db.close();
    }
    const importBundle = async (bundlePath: string, expected: number) => {
      const sampler = memorySampler();
      const { seconds, value: receipt } = await timed(() =>
        // The generated documents carry 2026-01 fetch times, so the time anchor is older than the default
        // 30-day budget; the benchmark measures the import, not the staleness refusal.
        importMirrorBundle({
          config,
          tenant: TENANT,
          bundlePath,
          trustRootPem,
          migrate,
          stalenessBudgetSeconds: 10 * 365 * 86_400,
        }),
      );
      const memory = sampler.stop();
      if (receipt.status !== 'applied' || receipt.records.inserted !== expected) {
        throw new Error(
          `${bundlePath}: ${receipt.status}, ${JSON.stringify(receipt.records)}; expected ${expected} new`,
        );
      }
      return { seconds, receipt: receipt as MirrorImportReceipt, memory };
    };
    const fullImport = await importBundle(bundles.full, DOCUMENTS);
    const deltaImport = await importBundle(bundles.delta, CHANGED);
    const siteRecords = await countSiteRecords(config);
    if (siteRecords !== DOCUMENTS + CHANGED) {
      throw new Error(`the site holds ${siteRecords} advisory records, expected ${DOCUMENTS + CHANGED}`);
    }
    return { full: fullImport, delta: deltaImport, siteRecords };
  } finally {
    rmSync(siteHome, { recursive: true, force: true });
  }
}

/** The advisory_raw rows the site holds after both imports (every revision). */
async function countSiteRecords(config: ReturnType<typeof benchConfig>): Promise<number> {
  const db = await openDatabase(config);
  try {
    return await db.transaction(
      async (tx) => Number((await tx.query<{ n: string }>('select count(*) as n from advisory_raw')).rows[0]!.n),
      { tenant: TENANT },
    );
  } finally {
    await db.close();
  }
}
