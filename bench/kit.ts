// What the benchmarks share: an in-process server on loopback, quiet, in a throwaway home, the
// bootstrap admin's token, an API client, a loader of generated documents (and the OSV variants the
// trivy and mirror benchmarks load), a memory sampler and timers.
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { AocService, PreparedDocument } from '@stella/aoc';
import type { Config } from '@stella/platform';
import { loadServerConfig, type RunningServer, startServer } from '@stella/server';
import { advisoryFixtures } from '@stella/testkit';

export const TENANT = 'default';
export const LOAD_BATCH = 1_000;
const SAMPLE_MS = 50;
/** Loading a million documents takes minutes: a progress line at most this often. */
const PROGRESS_MS = 10_000;

// A forced full collection before each run, so the RSS baseline is not inflated by loading garbage.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** One generated upstream document: the same n always gives the same bytes, so runs can be compared. */
export interface BenchDocument {
  vendor: string;
  text: string;
  /** Its retrieved_at. */
  time: string;
}

function benchServerEnv(home: string, databaseUrl?: string): Record<string, string> {
  return {
    STELLA_HOME: home,
    STELLA_SERVER_HOST: '127.0.0.1',
    STELLA_SERVER_PORT: '0',
    // STELLA_BENCH_LOG=info shows the server's own logs (an export run logs its phases).
    STELLA_LOG_LEVEL: process.env.STELLA_BENCH_LOG ?? 'silent',
    STELLA_SERVER_DOCS_UI: 'false',
    ...(databaseUrl ? { STELLA_DATABASE_URL: databaseUrl } : {}),
  };
}

/** The quiet configuration the bench server runs with, for `home` (PGlite there, or PostgreSQL at `databaseUrl`); also what a second site opens. */
export function benchConfig(home: string, databaseUrl?: string): Config {
  return loadServerConfig({ env: benchServerEnv(home, databaseUrl) }).config;
}

/** Runs `fn` against a fresh server (PGlite, or PostgreSQL at `databaseUrl`) and removes its home after; `yaml` becomes its stella.yaml. */
export async function withBenchServer<T>(
  name: string,
  databaseUrl: string | undefined,
  fn: (server: RunningServer, home: string) => Promise<T>,
  options: { yaml?: string } = {},
): Promise<T> {
  const home = mkdtempSync(join(tmpdir(), `stella-bench-${name}-`));
  try {
    // Read by loadServerConfig from $STELLA_HOME/stella.yaml (e.g. auth.clients for a second tenant).
    if (options.yaml) writeFileSync(join(home, 'stella.yaml'), options.yaml);
    const server = await startServer({ config: benchConfig(home, databaseUrl) });
    try {
      return await fn(server, home);
    } finally {
      await server.close();
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** A token for the bootstrap `stella-admin` client from the server's credentials file. */
export async function adminToken(server: RunningServer, home: string): Promise<string> {
  const creds = JSON.parse(readFileSync(join(home, 'credentials.json'), 'utf8'));
  const admin = creds.clients['stella-admin'] as { clientId: string; clientSecret: string };
  const res = await fetch(`${server.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: admin.clientId,
      client_secret: admin.clientSecret,
    }),
  });
  if (!res.ok) throw new Error(`token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export type BenchApi = (path: string, init?: RequestInit) => Promise<Response>;

/** The server's API as the admin, for the default tenant; a response that is not 2xx throws. */
export function benchApi(server: RunningServer, token: string): BenchApi {
  return async (path, init = {}) => {
    const key = randomUUID();
    const request = () =>
      fetch(`${server.url}${path}`, {
        ...init,
        headers: {
          authorization: `Bearer ${token}`,
          'x-stella-tenant': TENANT,
          ...(init.body ? { 'content-type': 'application/json', 'idempotency-key': key } : {}),
        },
      });
    // After a minute of loading, the kept-alive socket may have been closed under the client (ECONNRESET);
    // one retry on a fresh socket (POSTs carry an Idempotency-Key, so a retry cannot submit twice).
    const res = await request().catch(() => request());
    if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${await res.text()}`);
    return res;
  };
}

/** Downloads a run's bundle over HTTP to `file`; returns its size in bytes. */
export async function downloadRun(api: BenchApi, runId: string, file: string): Promise<number> {
  const res = await api(`/api/export/runs/${runId}/download`);
  await pipeline(Readable.fromWeb(res.body as never), createWriteStream(file));
  return statSync(file).size;
}

export function jsonFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.json'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/**
 * Writes documents [loaded, target) (document n is `next(n)`) through the AOC service: guard and
 * write, 1,000 a transaction, one write in flight while the next batch is prepared; a progress line
 * with docs/s and an ETA at most every 10 s (loading a million documents takes minutes).
 */
export function createLoader(service: AocService, next: (n: number) => BenchDocument, label: string) {
  let loaded = 0;
  const stores = { advisory_raw: 0, vex_raw: 0 };
  let bytes = 0;
  const prepareBatch = async (from: number, to: number) => {
    const prepared: PreparedDocument[] = [];
    for (let n = from; n < to; n++) {
      const v = next(n);
      const raw = Buffer.from(v.text, 'utf8');
      bytes += raw.length;
      const p = await service.prepare(
        TENANT,
        {
          bytes: raw,
          proposal: {
            source: { vendor: v.vendor, connector: 'bench', version: '0.1.0' },
            upstream: { retrieved_at: v.time },
          },
          kind: 'auto',
          location: `bench:${n}`,
        },
        { connector: 'bench', version: '0.1.0' },
      );
      if (!p.ok) throw new Error(`document ${n} (${v.vendor}) rejected: ${p.error.message}`);
      stores[p.doc.store]++;
      prepared.push(p.doc);
    }
    return prepared;
  };
  return {
    get loaded() {
      return loaded;
    },
    stores,
    get averageDocumentBytes() {
      return loaded ? Math.round(bytes / loaded) : 0;
    },
    /** Loads documents [loaded, target); `quiet` prints no progress (a timed window). */
    async loadTo(target: number, quiet = false) {
      if (target <= loaded) return;
      const from = loaded;
      const started = performance.now();
      let lastProgress = started;
      let pending: Promise<void> = Promise.resolve();
      for (let i = from; i < target; i += LOAD_BATCH) {
        const end = Math.min(target, i + LOAD_BATCH);
        const prepared = await prepareBatch(i, end);
        await pending;
        pending = service.write(TENANT, prepared, { initiator: 'bench' }).then((results) => {
          const ok = results.filter((r) => r.result === 'ok').length;
          if (ok !== prepared.length) throw new Error(`wrote ${ok} of ${prepared.length} documents`);
        });
        // A write failing while the next batch is prepared surfaces at the next await; until then it is not unhandled.
        pending.catch(() => {});
        const now = performance.now();
        if (!quiet && (now - lastProgress >= PROGRESS_MS || end === target)) {
          lastProgress = now;
          const rate = (end - from) / ((now - started) / 1000);
          console.error(
            `${label}: loaded ${end.toLocaleString('en')}/${target.toLocaleString('en')} (${Math.round(rate)} docs/s, ETA ${duration((target - end) / rate)})`,
          );
        }
      }
      await pending;
      loaded = target;
    },
  };
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** Samples the process's memory every 50 ms, and the event loop's delay, from just before submit. */
export function memorySampler() {
  gc();
  gc();
  const base = process.memoryUsage();
  const peak = { rss: base.rss, heapUsed: base.heapUsed, external: base.external };
  const sample = () => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    peak.external = Math.max(peak.external, m.external);
  };
  const timer = setInterval(sample, SAMPLE_MS);
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const mib = (n: number) => Number((n / 2 ** 20).toFixed(1));
  return {
    stop() {
      clearInterval(timer);
      sample();
      delay.disable();
      return {
        rssBeforeMiB: mib(base.rss),
        rssPeakMiB: mib(peak.rss),
        rssGrowthMiB: mib(peak.rss - base.rss),
        heapUsedGrowthMiB: mib(peak.heapUsed - base.heapUsed),
        externalGrowthMiB: mib(peak.external - base.external),
        eventLoopDelayMaxMs: Number((delay.max / 1e6).toFixed(1)),
        eventLoopDelayP99Ms: Number((delay.percentile(99) / 1e6).toFixed(1)),
      };
    },
  };
}

/** Sum of exporter_run_duration_seconds (the worker's own start → completion time). */
export async function workerSecondsSum(server: RunningServer): Promise<number> {
  const metric = server.ctx.metrics.getSingleMetric('exporter_run_duration_seconds');
  if (!metric) return 0;
  const values = (await metric.get()).values as Array<{ metricName?: string; value: number }>;
  return values.filter((v) => v.metricName === 'exporter_run_duration_seconds_sum').reduce((s, v) => s + v.value, 0);
}

export async function timed<T>(fn: () => Promise<T> | T): Promise<{ seconds: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { seconds: Number(((performance.now() - started) / 1000).toFixed(3)), value };
}

/** Submits an export run of `profileId` and polls it every 100 ms until it succeeds; a failed, cancelled or expired run throws. */
export async function submitExportRun<T extends { status: string; errors: unknown }>(
  api: (path: string, init?: RequestInit) => Promise<Response>,
  profileId: string,
  label: string,
  extra: Record<string, unknown> = {},
): Promise<T> {
  const submitted = (await (
    await api('/api/export/runs', { method: 'POST', body: JSON.stringify({ profileId, ...extra }) })
  ).json()) as { runId: string };
  for (;;) {
    const run = (await (await api(`/api/export/runs/${submitted.runId}`)).json()) as T;
    if (run.status === 'succeeded') return run;
    if (['failed', 'cancelled', 'expired'].includes(run.status))
      throw new Error(`${label}: run ${run.status}: ${JSON.stringify(run.errors)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Variants spread over this many package names per template, so buckets hold many packages. */
const PACKAGES_PER_TEMPLATE = 500;
const OSV_BASE_TIME = Date.parse('2026-01-01T00:00:00Z');

/** An OSV fixture a generated advisory is a variant of, with the vendor it is ingested as. */
export interface OsvTemplate {
  vendor: string;
  prefix: string;
  doc: Record<string, unknown>;
}

/** OSV documents Trivy can use (GHSA, Go vulndb, PyPA, AlmaLinux, Chainguard), withdrawn and malformed ones left out. */
export function osvTemplates(): OsvTemplate[] {
  const fixtures = advisoryFixtures();
  const sets = [
    { vendor: 'ghsa', prefix: 'GHSA', dir: 'ghsa/advisory-database/advisories' },
    { vendor: 'ghsa', prefix: 'GHSA', dir: 'ghsa/via-trivy-db' },
    { vendor: 'go-vulndb', prefix: 'GO', dir: 'osv-go/current' },
    { vendor: 'pypa', prefix: 'PYSEC', dir: 'osv-misc/pysec-via-trivy-db' },
    { vendor: 'almalinux', prefix: 'ALSA', dir: 'osv-misc/almalinux-via-anchore-vunnel' },
    { vendor: 'chainguard', prefix: 'CGA', dir: 'osv-misc/chainguard-via-anchore-vunnel' },
  ];
  const templates: OsvTemplate[] = [];
  for (const set of sets) {
    for (const file of jsonFiles(join(fixtures, set.dir))) {
      let doc: Record<string, unknown>;
      try {
        doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      } catch {
        continue; // the deliberately malformed fixtures
      }
      if (doc.withdrawn || !Array.isArray(doc.affected)) continue;
      templates.push({ vendor: set.vendor, prefix: set.prefix, doc });
    }
  }
  return templates;
}

/** Document n as an object: a template with its own id, one CVE alias of its own, and package names spread over a pool. */
export function osvVariantDoc(
  templates: OsvTemplate[],
  n: number,
): { vendor: string; doc: Record<string, unknown>; time: string } {
  const t = templates[n % templates.length]!;
  const doc = structuredClone(t.doc);
  const time = osvTime(n);
  doc.id = `${t.prefix}-BENCH-${String(n).padStart(7, '0')}`;
  doc.aliases = [`CVE-2099-${String(n).padStart(7, '0')}`];
  doc.modified = time;
  const spread = Math.floor(n / templates.length) % PACKAGES_PER_TEMPLATE;
  for (const affected of doc.affected as Array<{ package?: { name?: string } }>) {
    if (affected.package?.name) affected.package.name = `${affected.package.name}-b${spread}`;
  }
  return { vendor: t.vendor, doc, time };
}

/** Document n, as its upstream would serve it (pretty JSON). */
export function osvVariant(templates: OsvTemplate[], n: number): BenchDocument {
  const { vendor, doc, time } = osvVariantDoc(templates, n);
  return { vendor, text: JSON.stringify(doc, null, 2), time };
}

/** The n-th second after 2026-01-01, as OSV writes times. */
export function osvTime(n: number): string {
  return new Date(OSV_BASE_TIME + n * 1000).toISOString().replace('.000Z', 'Z');
}

/** The machine a result was measured on; the load at both ends shows other work sharing it. */
export function benchMachine(loadAverageAtStart: number) {
  return {
    node: process.version,
    cpus: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    // The machine is shared: other work running at the same time shows here, not in the figures.
    loadAverageAtStart,
    loadAverageAtEnd: Number(loadavg()[0]!.toFixed(2)),
  };
}

/** CPU seconds used so far by every process named postgres on this machine (the bench cluster's). */
export function postgresCpuSeconds(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (!stat.slice(stat.indexOf('(') + 1, close).startsWith('postgres')) continue;
      const fields = stat.slice(close + 2).split(' ');
      // Fields 14–17 of stat (utime, stime, cutime, cstime), counted after the command's closing parenthesis.
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / 100; // USER_HZ
}
