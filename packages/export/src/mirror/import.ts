// SPDX-License-Identifier: Apache-2.0
// `stella offline import` (spec §2.5 "Delta semantics", runbook §7.2): a disconnected stella applies a
// mirror bundle to its own database. In this order, and nothing is written unless every step passes:
//   1. open the bundle safely (hostile archives are refused by openBundle) and verify it against the
//      key the operator pinned (--trust-root): checksums, every content digest, provenance and both
//      DSSE envelopes, exactly as `stella export verify --key` does;
//   2. check continuity under a lock on the tenant's import log: a delta must build on the last bundle
//      applied here (ERR_EXPORT_BASE_MISSING otherwise, naming both), a bundle already applied is a
//      no-op, and a bundle older than the last one applied is refused (replaying an old full bundle
//      would not remove anything, but an operator doing it has lost track of the order);
//   3. write every record through the AOC room's import door and the log row and timeline event in ONE
//      transaction, so the raw stores and the log never disagree.
// A refused or failed bundle is copied to $STELLA_HOME/offline/quarantine/ and logged under the
// runbook's key `mirror.delta.apply_failed`; an applied one is appended to appliedExportIds.log.
import { createHash } from 'node:crypto';
import { appendFileSync, copyFileSync, mkdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type Clock, coerceError, StellaError, systemClock } from '@stella/core';
import {
  type Config,
  createLogger,
  createTimeline,
  type Db,
  lockHome,
  type MigrationReport,
  openDatabase,
} from '@stella/platform';
import { openBundle, type VerifyCheck } from '../bundle/index.ts';
import { ExportErrors } from '../errors.ts';
import {
  insertMirrorImport,
  lastMirrorImport,
  listMirrorImports,
  type MirrorImportRow,
} from '../sql/mirror-imports.ts';
import { applyFamily, mirrorFamilies } from './apply.ts';
import { type MirrorVerifyReport, verifyMirror } from './verify.ts';

export interface MirrorImportOptions {
  config: Config;
  tenant: string;
  /** A .tar.zst/.tar.gz/.tar bundle or an extracted bundle directory. */
  bundlePath: string;
  /** The PEM public key the exporting stella signs with (`stella export keys --output`). */
  trustRootPem: string;
  /** A TUF root.json to trust; without it the bundle's own (which export.json, signed with the pinned key, hashes). */
  tufRoot?: Buffer;
  /** Refuse a bundle whose time anchor is older than this; default export.mirror.stalenessBudgetSeconds. */
  stalenessBudgetSeconds?: number;
  /** Verify and check continuity, then roll back: nothing is written. */
  dryRun?: boolean;
  clock?: Clock;
  migrate: (db: Db) => Promise<MigrationReport>;
  /** Where the failure log line goes (the CLI's stderr). */
  logTo?: NodeJS.WritableStream;
  /** Told how many records were written after each batch, for a progress counter. */
  onRecords?: (n: number) => void;
}

/** What the import reads of a bundle's export.json (signature-checked before it is read). */
export interface MirrorManifest {
  exportId: string;
  mode: 'full' | 'delta';
  baseExportId: string | null;
  /** `sha256:` of export.json. */
  manifestDigest: string;
  sourceTenant: string;
  /** The bundle's data time (export.json generatedAt). */
  generatedAt: string;
  tombstones: number;
}

export interface MirrorImportReceipt extends MirrorManifest {
  schema: 'stella.mirror.import-receipt.v1';
  tenant: string;
  status: 'applied' | 'already-applied' | 'dry-run';
  /** The signed time anchor, and how old it was at import. */
  anchorTime: string;
  stalenessSeconds: number;
  keyid: string;
  records: { inserted: number; present: number };
  /** The position of this bundle in the tenant's import log; absent when nothing was applied. */
  seq?: number;
  importedAt: string;
}

const EXPORT_ID = /^exp-[0-9a-f]{24}$/;

function refused(message: string, check?: VerifyCheck): StellaError {
  return new StellaError(ExportErrors.verify, message, check ? { details: { ...check } } : {});
}

/** What the import needs of export.json, which verification has already tied to the signature. */
function readMirrorManifest(bytes: Buffer): MirrorManifest {
  const doc = JSON.parse(bytes.toString('utf8')) as {
    exportId?: unknown;
    tenant?: unknown;
    generatedAt?: unknown;
    profile?: { kind?: unknown; variant?: unknown };
    delta?: { baseExportId?: unknown; tombstones?: unknown[] };
  };
  const mode = doc.profile?.variant;
  if (doc.profile?.kind !== 'mirror' || (mode !== 'full' && mode !== 'delta')) {
    throw refused(
      `export.json names profile ${String(doc.profile?.kind)}:${String(mode)}: only mirror:full and mirror:delta bundles can be imported`,
    );
  }
  if (typeof doc.exportId !== 'string' || !EXPORT_ID.test(doc.exportId)) throw refused('export.json has no exportId');
  const base = doc.delta?.baseExportId;
  if ((mode === 'delta') !== (typeof base === 'string' && EXPORT_ID.test(base))) {
    throw refused(`export.json of a mirror:${mode} bundle ${mode === 'delta' ? 'lacks' : 'has'} delta.baseExportId`);
  }
  return {
    exportId: doc.exportId,
    mode,
    baseExportId: mode === 'delta' ? String(base) : null,
    manifestDigest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    sourceTenant: String(doc.tenant),
    generatedAt: String(doc.generatedAt),
    tombstones: Array.isArray(doc.delta?.tombstones) ? doc.delta.tombstones.length : 0,
  };
}

/** Refuses a bundle that does not follow the last one applied here; true when it was applied already. */
function checkContinuity(manifest: MirrorManifest, applied: MirrorImportRow[], last: MirrorImportRow | undefined) {
  if (applied.some((row) => row.export_id === manifest.exportId)) return true;
  if (manifest.mode === 'delta' && last?.export_id !== manifest.baseExportId) {
    throw new StellaError(
      ExportErrors.baseMissing,
      last
        ? `delta ${manifest.exportId} builds on ${manifest.baseExportId}, but the last bundle applied here is ${last.export_id} (seq ${last.seq}): apply the deltas in order, or import a mirror:full bundle`
        : `delta ${manifest.exportId} builds on ${manifest.baseExportId}, and no mirror bundle was applied to this tenant yet: import the mirror:full bundle first`,
      { details: { exportId: manifest.exportId, baseExportId: manifest.baseExportId, lastApplied: last?.export_id } },
    );
  }
  if (last && Date.parse(manifest.generatedAt) < Date.parse(last.anchor_time)) {
    throw new StellaError(
      ExportErrors.conflict,
      `bundle ${manifest.exportId} was generated at ${manifest.generatedAt}, before the last bundle applied here (${last.export_id}, ${last.anchor_time}): it is out of order; rebuild from the newest full bundle`,
    );
  }
  return false;
}

/** Copies a refused bundle aside (the operator's copy stays where it was) and says where. */
function quarantine(config: Config, bundlePath: string, clock: Clock): string | undefined {
  try {
    if (!statSync(bundlePath).isFile()) return undefined;
    const dir = join(config.home, 'offline', 'quarantine');
    mkdirSync(dir, { recursive: true });
    const target = join(dir, `${clock.now().toISOString().replaceAll(':', '')}-${basename(bundlePath)}`);
    copyFileSync(bundlePath, target);
    return target;
  } catch {
    return undefined;
  }
}

export async function importMirrorBundle(options: MirrorImportOptions): Promise<MirrorImportReceipt> {
  const { config, tenant } = options;
  const clock = options.clock ?? systemClock;
  const logger = createLogger({
    level: config.log.level,
    ...(options.logTo ? { destination: options.logTo } : {}),
  });
  try {
    return await importVerified(options, clock);
  } catch (error) {
    const failure = coerceError(error);
    const quarantined = quarantine(config, options.bundlePath, clock);
    logger.error(
      {
        event: 'mirror.delta.apply_failed',
        tenant,
        bundle: basename(options.bundlePath),
        code: failure instanceof StellaError ? failure.code : undefined,
        quarantined,
      },
      failure.message,
    );
    throw error;
  }
}

async function importVerified(options: MirrorImportOptions, clock: Clock): Promise<MirrorImportReceipt> {
  const { config } = options;
  const opened = await openBundle(options.bundlePath);
  try {
    const report = await verifyMirror(opened.dir, {
      exportKeyPem: options.trustRootPem,
      ...(options.tufRoot ? { trustedRoot: options.tufRoot } : {}),
      now: clock.now(),
      stalenessBudgetSeconds: options.stalenessBudgetSeconds ?? config.export.mirror.stalenessBudgetSeconds,
    });
    const failed = report.checks.find((c) => !c.ok);
    if (failed || !report.ok) {
      throw refused(
        `bundle verification failed: ${failed?.file}: ${failed?.reason ?? `${failed?.check} failed`}; nothing was imported`,
        failed,
      );
    }
    const manifest = readMirrorManifest(await readFile(join(opened.dir, 'export.json')));
    const families = await mirrorFamilies(opened.dir);
    const release = config.database.url
      ? () => {}
      : lockHome(config.home, (pid) => homeInUse(config.home, pid, options.bundlePath));
    let db: Db | undefined;
    try {
      db = await openDatabase(config);
      await options.migrate(db);
      const timeline = createTimeline(db, clock);
      const outcome = await applyInOneTransaction(db, timeline, options, manifest, report, families, opened.dir, clock);
      if (outcome.status === 'applied') {
        const dir = join(config.home, 'offline');
        mkdirSync(dir, { recursive: true });
        appendFileSync(join(dir, 'appliedExportIds.log'), `${manifest.exportId}\n`);
      }
      return { ...outcome, keyid: report.keyid ?? '' };
    } finally {
      await db?.close().catch(() => {});
      release();
    }
  } finally {
    await opened.cleanup();
  }
}

/** Thrown to roll a dry run back after its writes; carries what it would have applied. */
class DryRun extends Error {
  readonly receipt: Omit<MirrorImportReceipt, 'keyid'>;
  constructor(receipt: Omit<MirrorImportReceipt, 'keyid'>) {
    super('dry run');
    this.receipt = receipt;
  }
}

async function applyInOneTransaction(
  db: Db,
  timeline: ReturnType<typeof createTimeline>,
  options: MirrorImportOptions,
  manifest: MirrorManifest,
  report: MirrorVerifyReport,
  families: Awaited<ReturnType<typeof mirrorFamilies>>,
  dir: string,
  clock: Clock,
): Promise<Omit<MirrorImportReceipt, 'keyid'>> {
  const { tenant } = options;
  const importedAt = clock.now().toISOString();
  const receipt = (status: MirrorImportReceipt['status'], records = { inserted: 0, present: 0 }, seq?: number) => ({
    schema: 'stella.mirror.import-receipt.v1' as const,
    tenant,
    status,
    ...manifest,
    anchorTime: report.anchorTime ?? manifest.generatedAt,
    stalenessSeconds: report.stalenessSeconds ?? 0,
    records,
    ...(seq === undefined ? {} : { seq }),
    importedAt,
  });
  try {
    return await db.transaction(
      async (tx) => {
        const last = await lastMirrorImport(tx, tenant);
        if (checkContinuity(manifest, await listMirrorImports(tx), last)) return receipt('already-applied');
        const records = { inserted: 0, present: 0 };
        for (const family of families) {
          const result = await applyFamily(tx, tenant, dir, family, (n) => options.onRecords?.(n));
          records.inserted += result.inserted;
          records.present += result.present;
        }
        if (options.dryRun) throw new DryRun(receipt('dry-run', records));
        const seq = await insertMirrorImport(tx, tenant, {
          export_id: manifest.exportId,
          mode: manifest.mode,
          base_export_id: manifest.baseExportId,
          manifest_digest: manifest.manifestDigest,
          source_tenant: manifest.sourceTenant,
          anchor_time: report.anchorTime ?? manifest.generatedAt,
          tuf_timestamp_version: report.tufTimestampVersion ?? null,
          records_inserted: records.inserted,
          records_present: records.present,
          tombstones: manifest.tombstones,
          imported_at: importedAt,
        });
        await timeline.append(tx, tenant, {
          category: 'export',
          kind: manifest.mode === 'delta' ? 'mirror.delta.applied' : 'mirror.bundle.applied',
          details: {
            exportId: manifest.exportId,
            mode: manifest.mode,
            baseExportId: manifest.baseExportId,
            manifestDigest: manifest.manifestDigest,
            seq,
            records,
            tombstones: manifest.tombstones,
          },
        });
        return receipt('applied', records, seq);
      },
      { tenant },
    );
  } catch (error) {
    // A dry run went through every write and rolled them back: the counts are what an import would do.
    if (error instanceof DryRun) return error.receipt;
    throw error;
  }
}

function homeInUse(home: string, pid: number, bundle: string): StellaError {
  return new StellaError(
    ExportErrors.conflict,
    `stella (pid ${pid}) is using ${home}: its embedded database takes one process at a time. Stop it, run \`stella offline import --bundle ${bundle} …\`, then start it again`,
  );
}

/** `stella offline status`: the tenant's import log, oldest first. */
export async function mirrorImportLog(
  config: Config,
  tenant: string,
  migrate: (db: Db) => Promise<MigrationReport>,
): Promise<MirrorImportRow[]> {
  const release = config.database.url
    ? () => {}
    : lockHome(config.home, (pid) => homeInUse(config.home, pid, '<bundle>'));
  let db: Db | undefined;
  try {
    db = await openDatabase(config);
    await migrate(db);
    return await db.transaction((tx) => listMirrorImports(tx), { tenant });
  } finally {
    await db?.close().catch(() => {});
    release();
  }
}
