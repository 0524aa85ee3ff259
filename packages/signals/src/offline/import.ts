// Air-gap runtime ingest (seed 000 §3): check every hash of the bundle manifest, verify the DSSE
// against local trust roots, refuse a stale time anchor (the checks are pure, in verify.ts), then
// import the trace into CAS and the database exactly as the online route would, compute the
// subject's fact, and write an ingest receipt. Failures after the database opened are recorded as
// `runtime.ingest.failed` on the timeline. Never touches the network.

import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { type Clock, canonicalJson, type DsseTrustedKey, Errors, StellaError, systemClock } from '@stella/core';
import {
  createLogger,
  createMetricsRegistry,
  createSigningKeyStore,
  createTimeline,
  type Db,
  keyIdOf,
  type MigrationReport,
  openBlobStore,
  openDatabase,
  type Timeline,
  tenantBlobs,
} from '@stella/platform';
import type { VulnerableSymbols } from '../engine/targets.ts';
import { readRuntimeStream, runtimeSpoolDir, runtimeStreamLimits } from '../runtime/stream.ts';
import { createSignals } from '../service.ts';
import { type LockedOutIngest, lockHome } from './home-lock.ts';
import {
  type BundleManifest,
  checkDsse,
  checkManifestHashes,
  checkTimeAnchor,
  type OfflineRefusal,
  parseBundleManifest,
} from './verify.ts';

export interface OfflineIngestOptions extends LockedOutIngest {
  manifestPath: string;
  dssePath?: string;
  clock?: Clock;
  /** The AOC room's vulnerable symbols: default targets of the fact computed after the import. */
  advisories: VulnerableSymbols;
  /** Brings the database to the server's schema (every module's migrations; CliCtx.migrate). */
  migrate: (db: Db) => Promise<MigrationReport>;
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

/** What the checks established about the bundle, named in the receipt. */
interface VerifiedBundle {
  runtimeSha256: string;
  dsse: IngestReceipt['dsse'];
  anchorMs: number;
  stalenessSeconds: number;
}

type RecordFailure = (reason: string, details: Record<string, unknown>) => Promise<void>;

function sha256File(path: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => hash.update(d))
      .on('error', reject)
      .on('end', () => resolvePromise(hash.digest('hex')));
  });
}

/** manifest.json read from disk and parsed (verify.ts parseBundleManifest). */
export function readBundleManifest(path: string): BundleManifest {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (error) {
    throw new StellaError(Errors.usage, `cannot read manifest ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parseBundleManifest(raw, path);
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

/** The home's blob store, as the server configures it (cas.url for S3, else $STELLA_HOME/cas). */
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
    // The server's schema, so a server started on this home later finds its tables as it made them.
    await options.migrate(db);
    const timeline = createTimeline(db, clock);
    const recordFailure: RecordFailure = async (reason, details) => {
      await timeline.record(tenant, {
        category: 'runtime',
        kind: 'runtime.ingest.failed',
        details: { reason, graphHash: options.graphHash, runtime: basename(options.runtimePath), ...details },
      });
    };
    const verified = await verifyBundle(options, manifest, clock, recordFailure);
    return await importTrace(options, db, timeline, { manifest, verified, clock, recordFailure });
  } finally {
    await db?.close().catch(() => {});
    release();
  }
}

/** Records a refusal on the timeline and throws its error; passes anything else through. */
async function refuseOn<T extends { refused: false }>(
  outcome: OfflineRefusal | T,
  recordFailure: RecordFailure,
): Promise<T> {
  if (!outcome.refused) return outcome;
  await recordFailure(outcome.reason, outcome.details);
  throw outcome.error;
}

/** 1. every hash in the manifest (the trace must be listed); 2. the DSSE, when given; 3. the time anchor. */
async function verifyBundle(
  options: OfflineIngestOptions,
  manifest: BundleManifest,
  clock: Clock,
  recordFailure: RecordFailure,
): Promise<VerifiedBundle> {
  const base = dirname(resolve(options.manifestPath));
  const runtimeName = basename(options.runtimePath);
  const runtimeSha256 = await sha256File(options.runtimePath);
  const digests = new Map<string, string | undefined>();
  for (const file of manifest.files) {
    const isTrace = basename(file.path) === runtimeName;
    const digest = isTrace ? runtimeSha256 : await sha256File(resolve(base, file.path)).catch(() => undefined);
    digests.set(file.path, digest);
  }
  const manifestName = basename(options.manifestPath);
  await refuseOn(
    checkManifestHashes(manifest, manifestName, runtimeName, (file) => digests.get(file.path)),
    recordFailure,
  );

  let dsse: IngestReceipt['dsse'] = null;
  if (options.dssePath) {
    const trusted = loadTrustRoots(options.config.signals.trustRootsPath);
    let text: string | Error;
    try {
      text = readFileSync(options.dssePath, 'utf8');
    } catch (error) {
      text = error as Error;
    }
    const signed = await refuseOn(checkDsse(text, basename(options.dssePath), trusted, runtimeSha256), recordFailure);
    dsse = { verified: true, keyid: signed.keyid };
  }

  const budget = options.config.signals.offlineStalenessBudgetSeconds;
  const anchor = await refuseOn(checkTimeAnchor(manifest.anchor, clock.now(), budget), recordFailure);
  return { runtimeSha256, dsse, anchorMs: anchor.anchorMs, stalenessSeconds: anchor.stalenessSeconds };
}

/** 4. the import: the same validation and storage as the online route, the fact, and the receipt. */
async function importTrace(
  options: OfflineIngestOptions,
  db: Db,
  timeline: Timeline,
  bundle: { manifest: BundleManifest; verified: VerifiedBundle; clock: Clock; recordFailure: RecordFailure },
): Promise<IngestReceipt> {
  const { config, tenant } = options;
  const { clock, verified } = bundle;
  const blobs = tenantBlobs(openBlobStore(config));
  const signals = createSignals({
    db,
    blobs,
    timeline,
    signing: createSigningKeyStore(db),
    config: config.signals,
    clock,
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    logger: createLogger({ level: 'silent' }),
    advisories: options.advisories,
  });
  const batch = await readRuntimeStream(createReadStream(options.runtimePath), {
    gzip: false,
    limits: runtimeStreamLimits(config, clock.now()),
    spoolDir: runtimeSpoolDir(config),
  }).catch(async (error: unknown) => {
    await bundle.recordFailure('invalid_trace', { detail: (error as Error).message.slice(0, 300) });
    throw error;
  });
  let result: Awaited<ReturnType<typeof signals.ingestRuntime>>;
  try {
    result = await signals.ingestRuntime(tenant, {
      graphHash: options.graphHash,
      subject: options.subject && Object.keys(options.subject).length ? options.subject : { scanId: options.graphHash },
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
    manifestSha256: `sha256:${createHash('sha256').update(bundle.manifest.raw).digest('hex')}`,
    runtimeSha256: `sha256:${verified.runtimeSha256}`,
    dsse: verified.dsse,
    timeAnchor: new Date(verified.anchorMs).toISOString(),
    staleness_seconds: verified.stalenessSeconds,
    importedAt: clock.now().toISOString(),
  };
  const stored = await blobs
    .forTenant(tenant)
    .put('reachability/receipts', Buffer.from(canonicalJson(receipt), 'utf8'));
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
}
