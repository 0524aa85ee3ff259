// SPDX-License-Identifier: Apache-2.0
// The export worker: one run from queued to a stored, signed, verified and distributed bundle.
// Everything is assembled in a staging directory private to the run and reaches CAS only when
// complete (CAS writes are atomic), so a worker killed mid-run leaves nothing visible; its job is
// retried once the heartbeat lapses and the retry starts from a clean staging directory.

import { verify } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { coerceError, dsseVerify, parseDsseEnvelope, StellaError, sha256Digest } from '@stella/core';
import type { BlobStore, Config, Db, Logger, Queryable, SigningKeyStore } from '@stella/platform';
import { planJsonRaw, runJsonRaw } from './adapters/json-raw.ts';
import {
  bundleExtension,
  bundleMediaType,
  checksumsFile,
  EXPORT_DSSE_PATH,
  EXPORT_SIGNATURE_PATH,
  signBundleManifests,
  tarDigestOf,
  writeBundle,
} from './bundle/index.ts';
import { createDistributionDrivers, type DistributionDriver } from './distribution/index.ts';
import { ExportErrors, runErrorCode } from './errors.ts';
import { buildManifest, buildProvenance } from './manifest.ts';
import type { ExportMetrics } from './metrics.ts';
import type { ExportProfile } from './profiles/schema.ts';
import type { Selectors } from './selectors.ts';
import type { ExportService } from './service.ts';
import { profileRevision } from './sql/profiles.ts';
import { getRun, type RunRow, runStatus, TERMINAL, updateRun, upsertDistribution } from './sql/runs.ts';

export const SIGNING_PURPOSE = 'export-center';
const PAGE_SIZE = 500;
const PROGRESS_INTERVAL_MS = 500;
const STELLA_VERSION = '0.1.0';

class Cancelled extends Error {}

export interface WorkerDeps {
  service: ExportService;
  blobs: BlobStore;
  signing: SigningKeyStore;
  config: Config;
  metrics: ExportMetrics;
  logger: Logger;
  db: Db;
  /** Attempts a job gets before it is dead-lettered (retryLimit + 1). */
  attempts: number;
}

export function stagingRoot(config: Config): string {
  return config.export.stagingDir || join(config.home, 'export-staging');
}

export function createExportWorker(deps: WorkerDeps) {
  const { service, blobs, config, metrics, logger } = deps;
  const drivers = createDistributionDrivers(config.export);

  async function execute(tenant: string, runId: string, retryCount: number): Promise<void> {
    const run = await service.runRow(tenant, runId);
    if (TERMINAL.has(run.status)) return;
    const staging = join(stagingRoot(config), tenant, runId);
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });
    const started = performance.now();
    metrics.active(1);
    const log = logger.child({ runId, profile: run.profile_name, tenant });
    try {
      const profile = await startRun(run);
      const outcome = await build(run, profile, staging, log);
      const seconds = (performance.now() - started) / 1000;
      metrics.runCompleted(run.profile_kind, seconds, outcome.bytes);
      log.info(
        { seconds, bytes: outcome.bytes, records: outcome.records, phases: outcome.phases },
        'export run succeeded',
      );
    } catch (error) {
      if (error instanceof Cancelled) {
        log.info('export run cancelled');
        return;
      }
      const known = error instanceof StellaError && error.code.startsWith('ERR_EXPORT');
      const lastAttempt = retryCount + 1 >= deps.attempts;
      if (!known && !lastAttempt) {
        log.warn({ err: coerceError(error), attempt: retryCount + 1 }, 'export run attempt failed; it will be retried');
        throw error;
      }
      const code = known ? (error as StellaError).code : ExportErrors.adapter.code;
      const message = coerceError(error).message;
      const errorCode = runErrorCode(code);
      await service.finish(tenant, runId, 'failed', { errorCode, errors: [{ code, message }] });
      metrics.failure(run.profile_name, errorCode);
      log.error({ errorCode, err: coerceError(error) }, 'export run failed');
    } finally {
      metrics.active(-1);
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** Claims the run under a row lock, so a cancel that landed after the job was fetched wins. */
  async function startRun(run: RunRow): Promise<ExportProfile> {
    return service.transaction(run.tenant, async (q) => {
      const current = await getRun(q, run.run_id, true);
      if (!current || TERMINAL.has(current.status)) throw new Cancelled();
      const updated = await updateRun(q, run.run_id, {
        status: 'running',
        attempts: current.attempts + 1,
        ...(current.started_at ? {} : { started_at: new Date() as never }),
      });
      await service.emit(q, run.tenant, run.run_id, 'started', {
        runId: run.run_id,
        status: 'running',
        progress: updated.progress,
        attempt: updated.attempts,
        ts: new Date().toISOString(),
      });
      await service.timelineAppend(q, run.tenant, {
        category: 'export',
        kind: 'export.run.started',
        details: { runId: run.run_id, attempt: updated.attempts },
        traceId: run.trace_id ?? undefined,
      });
      const profile = await profileRevision(q, run.profile_name, run.profile_revision);
      if (!profile)
        throw new StellaError(ExportErrors.notFound, `profile ${run.profile_name}@r${run.profile_revision} vanished`);
      return profile.document;
    });
  }

  async function build(run: RunRow, profile: ExportProfile, staging: string, log: Logger) {
    const tenant = run.tenant;
    const selectors = run.selectors as unknown as Selectors;
    const include = profile.spec.include ?? ['advisories', 'vex'];
    let lastProgress = 0;
    const cancelled = async (q: Queryable) => (await runStatus(q, run.run_id)) === 'cancelled';
    const checkpoint = async () => {
      if (await service.transaction(tenant, cancelled)) throw new Cancelled();
    };
    // One transaction per report, at most every PROGRESS_INTERVAL_MS: it also notices a cancellation.
    const progress = async (itemsCompleted: number, itemsTotal: number, force = false) => {
      const now = performance.now();
      if (!force && now - lastProgress < PROGRESS_INTERVAL_MS) return;
      lastProgress = now;
      // Data is 90 % of the work; signing, packing and storing the rest.
      const percent = itemsTotal === 0 ? 90 : Math.min(90, Math.floor((itemsCompleted / itemsTotal) * 90));
      const p = { percent, itemsCompleted, itemsTotal };
      const stop = await service.transaction(tenant, async (q) => {
        if (await cancelled(q)) return true;
        await updateRun(q, run.run_id, { progress: p });
        await service.emit(q, tenant, run.run_id, 'progress', {
          runId: run.run_id,
          status: 'running',
          progress: p,
          ts: new Date().toISOString(),
        });
        return false;
      });
      if (stop) throw new Cancelled();
    };

    // Seconds per phase, logged with the outcome so an operator can see where a slow run spent its time.
    const phases: Record<string, number> = {};
    let mark = performance.now();
    const phase = (name: string) => {
      const now = performance.now();
      phases[name] = Math.round(now - mark) / 1000;
      mark = now;
    };
    const total = await planJsonRaw({ db: deps.db, tenant, selectors, include });
    phase('plan');
    if (total === 0 && !run.allow_empty) {
      throw new StellaError(
        ExportErrors.empty,
        `the selectors matched no ${include.join(' or ')} records; widen them or submit with allowEmpty`,
      );
    }
    await progress(0, total, true);
    const data = await runJsonRaw(
      { db: deps.db, tenant, selectors, include, stagingDir: staging, pageSize: PAGE_SIZE, progress },
      total,
    );
    await progress(data.records, data.records, true);
    phase('data');

    const epoch = config.export.sourceDateEpoch;
    const mtime = epoch >= 0 ? new Date(epoch * 1000) : new Date(data.newest ?? 0);
    mtime.setUTCMilliseconds(0);
    const codec = profile.spec.compression?.codec ?? 'zstd';
    const level = codec === 'none' ? undefined : (profile.spec.compression?.level ?? (codec === 'zstd' ? 3 : 6));
    const compression = {
      codec,
      ...(level === undefined ? {} : { level }),
      implementation:
        codec === 'zstd'
          ? `zstd ${process.versions.zstd ?? '?'}`
          : codec === 'gzip'
            ? `zlib ${process.versions.zlib}`
            : 'none',
    };

    let signer: Awaited<ReturnType<SigningKeyStore['getSigner']>>;
    try {
      signer = await deps.signing.getSigner(tenant, SIGNING_PURPOSE, 'ecdsa-p256');
    } catch (error) {
      throw new StellaError(ExportErrors.signing, `tenant signing key unavailable: ${coerceError(error).message}`, {
        cause: error,
      });
    }
    const profileRef = {
      kind: profile.spec.kind,
      variant: profile.spec.variant,
      name: profile.metadata.name,
      revision: `r${run.profile_revision}`,
      digest: (await service.getProfile(tenant, run.profile_name, run.profile_revision)).documentDigest,
    };
    const payload = [...data.files, data.materials];
    const contents = payload.map((f) => ({
      path: f.path,
      digest: f.digest,
      bytes: f.size,
      records: f.records,
      contentType: f.contentType,
    }));
    const manifest = buildManifest({
      tenant,
      profile: profileRef,
      selectors,
      generatedAt: mtime.toISOString(),
      contents,
      compression,
      counts: Object.fromEntries(data.files.map((f) => [f.path, f.records])),
      distribution: [...profile.spec.distribution].sort(),
      signing: { keyid: signer.keyid, algorithm: 'ecdsa-p256-sha256' },
    });
    const manifestDigest = sha256Digest(manifest.bytes);
    const provenance = buildProvenance({
      exportId: manifest.exportId,
      tenant,
      profile: profileRef,
      selectors,
      compression,
      subjects: [
        ...contents.map((c) => ({ name: c.path, digest: c.digest })),
        { name: 'export.json', digest: manifestDigest },
      ],
      materials: { path: data.materials.path, digest: data.materials.digest, records: data.materials.records },
      toolVersions: {
        stella: STELLA_VERSION,
        node: process.versions.node,
        zstd: process.versions.zstd ?? '',
        zlib: process.versions.zlib ?? '',
      },
    });
    let signatures: { path: string; bytes: Uint8Array }[];
    try {
      signatures = signBundleManifests(manifest.bytes, provenance, signer);
    } catch (error) {
      throw new StellaError(ExportErrors.signing, `signing export.json failed: ${coerceError(error).message}`, {
        cause: error,
      });
    }
    const provenanceDigest = sha256Digest(provenance);
    const checksums = checksumsFile([
      ...contents.map((c) => ({ path: c.path, digest: c.digest })),
      { path: 'export.json', digest: manifestDigest },
      { path: 'provenance.json', digest: provenanceDigest },
    ]);
    const small = [
      { path: 'export.json', bytes: manifest.bytes },
      { path: 'provenance.json', bytes: provenance },
      { path: 'checksums.txt', bytes: checksums },
      ...signatures,
    ];
    const entries = [
      ...payload.map((f) => ({ path: f.path, size: f.size, source: f.file })),
      ...small.map((f) => ({ path: f.path, size: f.bytes.length, source: f.bytes })),
    ];
    const fileName = `${profile.metadata.name}-${manifest.exportId}${bundleExtension(codec)}`;
    const bundlePath = join(staging, fileName);
    const out = createWriteStream(bundlePath);
    phase('sign');
    const written = await writeBundle(
      entries,
      { mtime, compression: { codec, ...(level === undefined ? {} : { level }) } },
      out,
    );
    if (!out.writableFinished) await once(out, 'finish');
    await checkpoint();
    phase('pack');
    await checkWrittenBundle(bundlePath, written, manifest.bytes, signatures, signer.publicKeyPem).catch((error) => {
      metrics.verifyFailure(run.profile_kind);
      throw error;
    });

    phase('check');
    const stored = await blobs.put('exports', createReadStream(bundlePath), { expectedDigest: written.digest });
    const manifestBlob = await blobs.put('exports', manifest.bytes, { expectedDigest: manifestDigest });
    const provenanceBlob = await blobs.put('exports', provenance, { expectedDigest: provenanceDigest });
    const mediaType = bundleMediaType(codec);
    await service.transaction(tenant, async (q) => {
      const current = await getRun(q, run.run_id, true);
      if (!current || TERMINAL.has(current.status)) throw new Cancelled();
      await updateRun(q, run.run_id, {
        export_id: manifest.exportId,
        bundle_uri: stored.uri,
        bundle_digest: written.digest,
        bundle_bytes: written.bytes,
        bundle_media_type: mediaType,
        bundle_file_name: fileName,
        tar_digest: written.tarDigest,
        manifest_uri: manifestBlob.uri,
        manifest_digest: manifestDigest,
        provenance_uri: provenanceBlob.uri,
        records: data.records,
        progress: { percent: 95, itemsCompleted: data.records, itemsTotal: data.records },
      });
      await upsertDistribution(q, tenant, run.run_id, {
        driver: 'http',
        status: 'succeeded',
        target: `/api/export/runs/${run.run_id}/download`,
        digest: written.digest,
        seconds: 0,
        error: null,
      });
      const ts = new Date().toISOString();
      await service.emit(q, tenant, run.run_id, 'artifact_ready', {
        runId: run.run_id,
        status: 'running',
        progress: { percent: 95, itemsCompleted: data.records, itemsTotal: data.records },
        ts,
        url: `/api/export/runs/${run.run_id}/download`,
        sha256: written.digest,
        type: 'bundle',
        fileName,
        bytes: written.bytes,
      });
    });

    phase('store');
    const failures: string[] = [];
    for (const name of profile.spec.distribution) {
      if (name === 'http') continue;
      const driver: DistributionDriver | undefined = drivers[name];
      let row: Parameters<typeof upsertDistribution>[3];
      if (!driver) {
        const message = `distribution ${name} is not configured on this server (export.${name === 'oci' ? 'oci.registry' : 'objectStore.url'})`;
        failures.push(message);
        row = { driver: name, status: 'failed', target: null, digest: null, seconds: null, error: message };
      } else {
        try {
          const result = await driver.push({
            tenant,
            profileName: profile.metadata.name,
            exportId: manifest.exportId,
            runId: run.run_id,
            createdAt: mtime.toISOString(),
            bundle: { path: bundlePath, digest: written.digest, bytes: written.bytes, mediaType, fileName },
            manifest: { bytes: manifest.bytes, digest: manifestDigest },
          });
          metrics.distribution(name, result.seconds);
          row = {
            driver: name,
            status: 'succeeded',
            target: result.target,
            digest: result.digest,
            seconds: result.seconds,
            error: null,
          };
        } catch (error) {
          const message = coerceError(error).message;
          failures.push(`${name}: ${message}`);
          log.warn(
            { driver: name, err: coerceError(error) },
            'export distribution failed; the bundle stays downloadable over http',
          );
          row = { driver: name, status: 'failed', target: null, digest: null, seconds: null, error: message };
        }
      }
      await service.transaction(tenant, (q) => upsertDistribution(q, tenant, run.run_id, row));
    }
    if (failures.length > 0) {
      throw new StellaError(
        ExportErrors.distribution,
        `${failures.join('; ')} — the bundle is still downloadable: stella export download ${run.run_id}`,
      );
    }
    const done = await service.finish(tenant, run.run_id, 'succeeded', {});
    if (!done) throw new Cancelled();
    phase('distribute');
    return { bytes: written.bytes, records: data.records, phases };
  }

  return { execute };
}

/**
 * Reads the file just written back in one streaming pass and checks that it decodes to exactly the
 * tar that was produced, and that export.json's signatures verify with the tenant key, so a
 * compressor or disk fault never reaches CAS. (`stella export verify` does the full offline check,
 * entry by entry, on the far side.)
 */
async function checkWrittenBundle(
  bundlePath: string,
  written: { tarDigest: string; tarBytes: number },
  manifest: Uint8Array,
  signatures: readonly { path: string; bytes: Uint8Array }[],
  publicKeyPem: string,
): Promise<void> {
  const fail = (why: string) => new StellaError(ExportErrors.verify, `the bundle failed its own verification: ${why}`);
  const read = await tarDigestOf(bundlePath);
  if (read.digest !== written.tarDigest || read.bytes !== written.tarBytes) {
    throw fail(
      `it decodes to ${read.bytes} bytes with ${read.digest}, not the ${written.tarBytes} bytes written (${written.tarDigest})`,
    );
  }
  const bytesOf = (path: string) => signatures.find((s) => s.path === path)!.bytes;
  const sig = Buffer.from(Buffer.from(bytesOf(EXPORT_SIGNATURE_PATH)).toString('utf8').trim(), 'base64');
  if (!verify('sha256', manifest, publicKeyPem, sig)) throw fail(`${EXPORT_SIGNATURE_PATH} does not verify`);
  const envelope = parseDsseEnvelope(JSON.parse(Buffer.from(bytesOf(EXPORT_DSSE_PATH)).toString('utf8')));
  const checked = dsseVerify(envelope, [{ keyid: '', publicKey: publicKeyPem }]);
  if (!checked.verified || !checked.payload.equals(manifest)) throw fail(`${EXPORT_DSSE_PATH} does not verify`);
}
