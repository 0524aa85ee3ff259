// Air-gap runtime ingest (seed 000 §3): check every hash of the bundle manifest, verify the DSSE
// against local trust roots, refuse a stale time anchor, then import the trace into CAS and the
// database exactly as the online route would, and write an ingest receipt. Failures after the
// database opened are recorded as `runtime.ingest.failed` on the timeline. Never touches the network.

import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import {
  type Clock,
  canonicalJson,
  type DsseTrustedKey,
  dsseVerify,
  Errors,
  parseDsseEnvelope,
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
import { readRuntimeStream } from './runtime/stream.ts';
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
    parsed = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
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

function lockHome(home: string): () => void {
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
    if (holder && alive) {
      throw new StellaError(
        Errors.conflict,
        `a stella server (pid ${holder}) is using ${home}; stop it or ingest online with \`stella signals ingest-runtime\` without --offline`,
      );
    }
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
  const release = config.database.url ? () => {} : lockHome(config.home);
  let db: Db | undefined;
  try {
    db = await openDatabase(config);
    await migrate(db, [
      { module: 'platform', migrations: platformModule.migrations! },
      { module: 'signals', migrations: new URL('../migrations/', import.meta.url), dependsOn: ['platform'] },
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
        verdict = dsseVerify(parseDsseEnvelope(JSON.parse(readFileSync(options.dssePath, 'utf8'))), trusted);
      } catch (error) {
        verdict = { verified: false, reason: (error as Error).message };
      }
      if (!verdict.verified) {
        await recordFailure('dsse_invalid', { detail: verdict.reason });
        throw fail(SignalsErrors.dsseInvalid, `DSSE ${basename(options.dssePath)} does not verify: ${verdict.reason}`);
      }
      const statement = JSON.parse(verdict.payload.toString('utf8')) as {
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
      limits: {
        maxUploadBytes: config.signals.maxUploadBytes,
        maxDecompressedBytes: config.signals.maxDecompressedBytes,
        maxLineBytes: config.signals.maxLineBytes,
        maxEvents: config.signals.maxEventsPerBatch,
        maxHitCount: config.signals.maxHitCount,
        maxFutureSkewSeconds: config.signals.maxFutureSkewSeconds,
        now: clock.now(),
      },
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
