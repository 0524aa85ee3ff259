// Air-gap runtime ingest (seed 000 §3): check every hash of the bundle manifest, verify the DSSE
// against local trust roots, refuse a stale time anchor, then import the trace into CAS and the
// database exactly as the online route would, compute the subject's fact, and write an ingest
// receipt. Failures after the database opened are recorded as `runtime.ingest.failed` on the
// timeline. Never touches the network.

import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { aocModule } from '@stella/aoc';
import {
  type Clock,
  canonicalJson,
  type DsseTrustedKey,
  dsseVerify,
  Errors,
  parseDsseEnvelope,
  parseJsonWithLimits,
  StellaError,
  systemClock,
} from '@stella/core';
import {
  type Config,
  createBlobStore,
  createLogger,
  createMetricsRegistry,
  createSigningKeyStore,
  createTimeline,
  type Db,
  keyIdOf,
  migrate,
  openDatabase,
  platformModule,
} from '@stella/platform';
import { SignalsErrors } from './errors.ts';
import { readRuntimeStream, runtimeSpoolDir, runtimeStreamLimits } from './runtime/stream.ts';
import type { Subject } from './runtime/subject.ts';
import { createSignals } from './service.ts';

export interface OfflineIngestOptions {
  config: Config;
  tenant: string;
  graphHash: string;
  runtimePath: string;
  manifestPath: string;
  dssePath?: string;
  subject?: Subject;
  clock?: Clock;
  /** Where the stella server of this home listens (STELLA_SERVER), for the remedy when it runs. */
  serverUrl?: string;
}

export interface IngestReceipt {
  schema: 'stella.signals.ingest-receipt.v1';
  tenant: string;
  ingestId: string;
  graphHash: string;
  casDigest: string;
  casUri: string;
  subjectKey: string;
  events: number;
  status: 'applied' | 'orphan';
  duplicate: boolean;
  manifestSha256: string;
  runtimeSha256: string;
  dsse: { verified: true; keyid: string } | null;
  timeAnchor: string;
  staleness_seconds: number;
  importedAt: string;
  receiptUri?: string;
}

interface ManifestFile {
  path: string;
  sha256: string;
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => hash.update(d))
      .on('error', reject)
      .on('end', () => resolvePromise(hash.digest('hex')));
  });
}

function fail(def: typeof SignalsErrors.offlineHashMismatch, message: string, details?: Record<string, unknown>) {
  return new StellaError(def, message, details ? { details } : {});
}

/** manifest.json: `{files: [{path, sha256}], timeAnchor: {issuedAt}}`; a `{path: sha256}` map and `generatedAt` also work. */
export function readBundleManifest(path: string): { files: ManifestFile[]; anchor: string | undefined; raw: Buffer } {
  let raw: Buffer;
  let parsed: Record<string, unknown>;
  try {
    raw = readFileSync(path);
    parsed = parseJsonWithLimits(raw.toString('utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new StellaError(Errors.usage, `cannot read manifest ${path}: ${(error as Error).message}`, { cause: error });
  }
  const files: ManifestFile[] = [];
  const list = parsed.files ?? parsed.entries;
  if (Array.isArray(list)) {
    for (const f of list as Record<string, unknown>[]) {
      const hash = String(f.sha256 ?? f.hash ?? f.digest ?? '');
      if (typeof f.path !== 'string' || !hash)
        throw new StellaError(Errors.usage, `manifest ${path}: every file needs path and sha256`);
      files.push({ path: f.path, sha256: hash.replace(/^sha256:/, '').toLowerCase() });
    }
  } else if (typeof list === 'object' && list !== null) {
    for (const [p, h] of Object.entries(list as Record<string, unknown>))
      files.push({ path: p, sha256: String(h).replace(/^sha256:/, '') });
  }
  if (files.length === 0) throw new StellaError(Errors.usage, `manifest ${path} lists no files`);
  const anchorObject = (parsed.timeAnchor ?? parsed.time_anchor) as Record<string, unknown> | string | undefined;
  const anchor =
    typeof anchorObject === 'string'
      ? anchorObject
      : typeof anchorObject === 'object' && anchorObject
        ? String(
            anchorObject.issuedAt ??
              anchorObject.issued_at ??
              anchorObject.anchorTime ??
              anchorObject.anchor_time ??
              '',
          )
        : typeof parsed.generatedAt === 'string'
          ? parsed.generatedAt
          : typeof parsed.generated_at === 'string'
            ? parsed.generated_at
            : undefined;
  return { files, anchor: anchor || undefined, raw };
}

/** PEM public keys from a file or every *.pem / *.pub in a directory; keyid = sha256 of the SPKI. */
export function loadTrustRoots(path: string): DsseTrustedKey[] {
  if (!path) return [];
  const files = statSync(path).isDirectory()
    ? readdirSync(path)
        .filter((f) => /\.(pem|pub)$/.test(f))
        .sort()
        .map((f) => join(path, f))
    : [path];
  const keys: DsseTrustedKey[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g)) {
      keys.push({ keyid: keyIdOf(match[0]), publicKey: match[0] });
    }
  }
  return keys;
}

/** The URL a server started with this config listens on (`stella serve` prints the same). */
function serverUrlOf(config: Config): string {
  if (config.server.publicUrl) return config.server.publicUrl.replace(/\/+$/, '');
  const { host, port } = config.server;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port === 0 ? '<port it printed>' : port}`;
}

/** Quotes for a POSIX shell when needed, so the printed commands can be pasted as they are. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The remedy when a live server holds the home: stop it, or send the same trace through its API
 * (the exact `stella` and curl forms for this tenant, graph, trace and subject).
 */
function homeInUse(home: string, pid: number, options: OfflineIngestOptions): StellaError {
  const url = (options.serverUrl || serverUrlOf(options.config)).replace(/\/+$/, '');
  const subject = Object.entries(options.subject ?? {}).filter(([, v]) => v !== undefined && v !== '');
  const flagOf: Record<string, string> = {
    scanId: '--scan-id',
    imageDigest: '--image-digest',
    component: '--component',
    version: '--version',
  };
  const stella = [
    'npx stella --server',
    shellWord(url),
    '--tenant',
    shellWord(options.tenant),
    'signals ingest-runtime --graph-hash',
    shellWord(options.graphHash),
    '--runtime',
    shellWord(options.runtimePath),
    ...subject.flatMap(([k, v]) => [flagOf[k] ?? `--${k}`, shellWord(String(v))]),
  ].join(' ');
  const query = new URLSearchParams({ graph_hash: options.graphHash, ...Object.fromEntries(subject) }).toString();
  const curl = [
    `curl -fsS -X POST ${shellWord(`${url}/api/v1/runtime-facts?${query}`)}`,
    `-H "Authorization: Bearer $(npx stella --server ${shellWord(url)} --tenant ${shellWord(options.tenant)} auth token --scope signals:write)"`,
    `-H ${shellWord(`X-Stella-Tenant: ${options.tenant}`)} -H 'Content-Type: application/x-ndjson'`,
    `--data-binary @${shellWord(options.runtimePath)}`,
  ].join(' ');
  return new StellaError(
    SignalsErrors.homeInUse,
    [
      `the stella server with pid ${pid} is running on ${resolve(home)} and owns its embedded database, so the offline ingest cannot open it. Either:`,
      `  - stop that server (Ctrl-C where it runs, or \`kill ${pid}\`) and run this command again; or`,
      `  - send the same trace through the running server's API (it does not check the bundle's manifest, DSSE or time anchor; this command does):`,
      `      ${stella}`,
      '    which is the same as',
      `      ${curl}`,
    ].join('\n'),
    { details: { pid, home: resolve(home), serverUrl: url } },
  );
}

/**
 * Takes $STELLA_HOME/serve.lock as `stella serve` does: PGlite's data directory is used by one
 * process at a time. A live holder is refused with the remedy; a stale lock (crashed holder) is taken.
 */
function lockHome(home: string, options: OfflineIngestOptions): () => void {
  const path = join(home, 'serve.lock');
  try {
    writeFileSync(path, String(process.pid), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const holder = Number(readFileSync(path, 'utf8'));
    let alive = false;
    try {
      process.kill(holder, 0);
      alive = true;
    } catch (e) {
      alive = (e as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (holder && alive) throw homeInUse(home, holder, options);
    writeFileSync(path, String(process.pid), { mode: 0o600 });
  }
  return () => rmSync(path, { force: true });
}

export async function offlineIngestRuntime(options: OfflineIngestOptions): Promise<IngestReceipt> {
  const { config, tenant } = options;
  const clock = options.clock ?? systemClock;
  if (!/^sha256:[0-9a-f]{64}$/.test(options.graphHash)) {
    throw new StellaError(Errors.usage, '--graph-hash must be sha256:<64 lowercase hex>');
  }
  const manifest = readBundleManifest(options.manifestPath);
  const release = config.database.url ? () => {} : lockHome(config.home, options);
  let db: Db | undefined;
  try {
    db = await openDatabase(config);
    // The same modules the signals room depends on in the server: default targets come from AOC advisories.
    await migrate(db, [
      { module: 'platform', migrations: platformModule.migrations! },
      { module: 'aoc', migrations: aocModule.migrations!, dependsOn: ['platform'] },
      { module: 'signals', migrations: new URL('../migrations/', import.meta.url), dependsOn: ['platform', 'aoc'] },
    ]);
    const timeline = createTimeline(db, clock);
    const recordFailure = async (reason: string, details: Record<string, unknown>) => {
      await timeline.record(tenant, {
        category: 'runtime',
        kind: 'runtime.ingest.failed',
        details: { reason, graphHash: options.graphHash, runtime: basename(options.runtimePath), ...details },
      });
    };

    // 1. Every hash in the manifest, and the trace itself must be listed.
    const base = dirname(resolve(options.manifestPath));
    const runtimeName = basename(options.runtimePath);
    const runtimeSha256 = await sha256File(options.runtimePath);
    if (!manifest.files.some((f) => basename(f.path) === runtimeName)) {
      await recordFailure('runtime_not_in_manifest', {});
      throw fail(
        SignalsErrors.offlineHashMismatch,
        `${runtimeName} is not listed in ${basename(options.manifestPath)}`,
      );
    }
    for (const file of manifest.files) {
      const local = basename(file.path) === runtimeName ? options.runtimePath : resolve(base, file.path);
      let actual: string;
      try {
        actual = local === options.runtimePath ? runtimeSha256 : await sha256File(local);
      } catch {
        await recordFailure('file_missing', { file: file.path });
        throw fail(SignalsErrors.offlineHashMismatch, `${file.path} is listed in the manifest but missing`);
      }
      if (actual !== file.sha256) {
        await recordFailure('hash_mismatch', {
          file: file.path,
          expected: `sha256:${file.sha256}`,
          actual: `sha256:${actual}`,
        });
        throw fail(
          SignalsErrors.offlineHashMismatch,
          `hash mismatch for ${file.path}: manifest says sha256:${file.sha256}, file is sha256:${actual}`,
          {
            file: file.path,
            expected: `sha256:${file.sha256}`,
            actual: `sha256:${actual}`,
          },
        );
      }
    }

    // 2. DSSE, when given: a trusted signature over an in-toto statement naming this trace's digest.
    let dsse: IngestReceipt['dsse'] = null;
    if (options.dssePath) {
      const trusted = loadTrustRoots(config.signals.trustRootsPath);
      let verdict: ReturnType<typeof dsseVerify>;
      try {
        verdict = dsseVerify(parseDsseEnvelope(parseJsonWithLimits(readFileSync(options.dssePath, 'utf8'))), trusted);
      } catch (error) {
        verdict = { verified: false, reason: (error as Error).message };
      }
      if (!verdict.verified) {
        await recordFailure('dsse_invalid', { detail: verdict.reason });
        throw fail(SignalsErrors.dsseInvalid, `DSSE ${basename(options.dssePath)} does not verify: ${verdict.reason}`);
      }
      const statement = parseJsonWithLimits(verdict.payload.toString('utf8')) as {
        subject?: { digest?: { sha256?: string } }[];
      };
      if (!statement.subject?.some((s) => s.digest?.sha256 === runtimeSha256)) {
        await recordFailure('dsse_subject_mismatch', {});
        throw fail(
          SignalsErrors.dsseInvalid,
          `DSSE ${basename(options.dssePath)} does not cover sha256:${runtimeSha256}`,
        );
      }
      dsse = { verified: true, keyid: verdict.keyid };
    }

    // 3. Time anchor within the staleness budget.
    const anchorMs = manifest.anchor ? Date.parse(manifest.anchor) : Number.NaN;
    if (!Number.isFinite(anchorMs)) {
      await recordFailure('time_anchor_missing', {});
      throw fail(
        SignalsErrors.offlineStale,
        'manifest.json carries no time anchor (timeAnchor.issuedAt); refusing to import',
      );
    }
    const stalenessSeconds = Math.max(0, Math.floor((clock.now().getTime() - anchorMs) / 1000));
    if (stalenessSeconds > config.signals.offlineStalenessBudgetSeconds) {
      await recordFailure('time_anchor_stale', { staleness_seconds: stalenessSeconds });
      throw new StellaError(
        SignalsErrors.offlineStale,
        `time anchor ${manifest.anchor} is ${stalenessSeconds} s old; the budget is ${config.signals.offlineStalenessBudgetSeconds} s (signals.offlineStalenessBudgetSeconds)`,
        { details: { staleness_seconds: stalenessSeconds } },
      );
    }

    // 4. Import: the same validation and storage as the online route.
    const blobs = createBlobStore(
      config.cas.url
        ? {
            kind: 's3',
            url: config.cas.url,
            endpoint: config.cas.endpoint || undefined,
            region: config.cas.region,
            accessKeyId: config.cas.accessKeyId || undefined,
            secretAccessKey: config.cas.secretAccessKey || undefined,
          }
        : { kind: 'fs', root: join(config.home, 'cas') },
    );
    const signals = createSignals({
      db,
      blobs,
      timeline,
      signing: createSigningKeyStore(db),
      config: config.signals,
      clock,
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      logger: createLogger({ level: 'silent' }),
    });
    const batch = await readRuntimeStream(createReadStream(options.runtimePath), {
      gzip: false,
      limits: runtimeStreamLimits(config, clock.now()),
      spoolDir: runtimeSpoolDir(config),
    }).catch(async (error: unknown) => {
      await recordFailure('invalid_trace', { detail: (error as Error).message.slice(0, 300) });
      throw error;
    });
    let result: Awaited<ReturnType<typeof signals.ingestRuntime>>;
    try {
      result = await signals.ingestRuntime(tenant, {
        graphHash: options.graphHash,
        subject:
          options.subject && Object.keys(options.subject).length ? options.subject : { scanId: options.graphHash },
        source: 'offline',
        batch,
      });
    } finally {
      await batch.dispose();
    }
    // Online, the ingest queues a recompute for the server's worker; here no worker runs (the server
    // is stopped, or on PostgreSQL it would not hear of it), so the fact is computed now. It is
    // incremental: importing the same bundle again computes nothing twice, and finishes a recompute
    // that failed here before.
    if (result.status === 'applied') await signals.recompute(tenant, { subjectKey: result.subjectKey });
    const receipt: IngestReceipt = {
      schema: 'stella.signals.ingest-receipt.v1',
      tenant,
      ingestId: result.ingestId,
      graphHash: options.graphHash,
      casDigest: result.contentSha256,
      casUri: result.casUri,
      subjectKey: result.subjectKey,
      events: result.events,
      status: result.status,
      duplicate: result.duplicate,
      manifestSha256: `sha256:${createHash('sha256').update(manifest.raw).digest('hex')}`,
      runtimeSha256: `sha256:${runtimeSha256}`,
      dsse,
      timeAnchor: new Date(anchorMs).toISOString(),
      staleness_seconds: stalenessSeconds,
      importedAt: clock.now().toISOString(),
    };
    const stored = await blobs.put('reachability/receipts', Buffer.from(canonicalJson(receipt), 'utf8'));
    await timeline.record(tenant, {
      category: 'evidence',
      kind: 'signals.ingest.receipt',
      details: {
        ingestId: receipt.ingestId,
        receiptUri: stored.uri,
        casDigest: receipt.casDigest,
        graphHash: receipt.graphHash,
      },
    });
    return { ...receipt, receiptUri: stored.uri };
  } finally {
    await db?.close().catch(() => {});
    release();
  }
}
