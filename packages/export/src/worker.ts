// SPDX-License-Identifier: Apache-2.0
// The export worker: one run from queued to a stored, signed, verified and distributed bundle.
// Everything is assembled in a staging directory private to the run and reaches CAS only when
// complete (CAS writes are atomic), so a worker killed mid-run leaves nothing visible; its job is
// retried once the heartbeat lapses and the retry starts from a clean staging directory. A worker
// killed on the last attempt leaves a dead letter and an open run, which failAbandonedRun closes.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tenantGateFor } from '@stella/authority';
import { type Clock, coerceError, StellaError } from '@stella/core';
import {
  AuthErrors,
  type Config,
  type Db,
  type DeadLetter,
  type Logger,
  type SigningKeyStore,
  type TenantBlobs,
} from '@stella/platform';
import type { ExportAdapter } from './adapters/adapter.ts';
import { adapterFor } from './adapters/registry.ts';
import { createDistributionDrivers } from './distribution/index.ts';
import { ExportErrors, runErrorCode } from './errors.ts';
import type { ExportMetrics } from './metrics.ts';
import type { ExportProfile } from './profiles/schema.ts';
import { selectRecords, serialiseRecords } from './run/contents.ts';
import { createRunContext, RunCancelled, type RunContext, type RunServices } from './run/context.ts';
import { encryptPayload, prepareEncryption, sealArchive } from './run/encryption.ts';
import { bundleSettings, writeManifest, writeProvenance } from './run/manifests.ts';
import { checkBundle, packBundle } from './run/packing.ts';
import { completeRun, distributeBundle, publishBundle } from './run/publication.ts';
import { signManifests, tenantSigner } from './run/signing.ts';
import type { ExportService } from './service/index.ts';
import { profileRevision } from './sql/profiles.ts';
import { getRun, type RunRow, TERMINAL, updateRun } from './sql/runs.ts';

export interface WorkerDeps {
  service: ExportService;
  blobs: TenantBlobs;
  signing: SigningKeyStore;
  config: Config;
  metrics: ExportMetrics;
  logger: Logger;
  db: Db;
  clock: Clock;
  /** Attempts a job gets before it is dead-lettered (retryLimit + 1). */
  attempts: number;
}

interface RunOutcome {
  bytes: number;
  records: number;
  phases: Record<string, number>;
}

export function stagingRoot(config: Config): string {
  return config.export.stagingDir || join(config.home, 'export-staging');
}

export function createExportWorker(deps: WorkerDeps) {
  const services: RunServices = { ...deps, drivers: createDistributionDrivers(deps.config.export) };

  async function execute(tenant: string, runId: string, retryCount: number): Promise<void> {
    const run = await deps.service.runRow(tenant, runId);
    if (TERMINAL.has(run.status)) return;
    const staging = join(stagingRoot(deps.config), tenant, runId);
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });
    const started = performance.now();
    deps.metrics.active(1);
    const log = deps.logger.child({ runId, profile: run.profile_name, tenant });
    try {
      await tenantGateFor(deps.db).check(tenant);
      const claimed = await claimRun(services, run);
      const outcome = await build(createRunContext(services, claimed, staging, log));
      const seconds = (performance.now() - started) / 1000;
      deps.metrics.runCompleted(run.profile_kind, seconds, outcome.bytes);
      log.info({ seconds, ...outcome }, 'export run succeeded');
    } catch (error) {
      await settleFailure(deps, run, log, error, retryCount);
    } finally {
      deps.metrics.active(-1);
      await rm(staging, { recursive: true, force: true });
    }
  }

  return { execute };
}

/**
 * Claims the run under a row lock, so a cancel that landed after the job was fetched wins, and
 * loads the profile revision it was submitted with and the adapter that builds it.
 */
async function claimRun(
  services: RunServices,
  run: RunRow,
): Promise<{ run: RunRow; profile: ExportProfile; adapter: ExportAdapter }> {
  const { service, clock } = services;
  const profile = await service.transaction(run.tenant, async (q) => {
    const current = await getRun(q, run.run_id, true);
    if (!current || TERMINAL.has(current.status)) throw new RunCancelled();
    const updated = await updateRun(q, run.run_id, {
      status: 'running',
      attempts: current.attempts + 1,
      ...(current.started_at ? {} : { started_at: clock.now() }),
    });
    await service.emit(q, run.tenant, run.run_id, 'started', {
      runId: run.run_id,
      status: 'running',
      progress: updated.progress,
      attempt: updated.attempts,
      ts: clock.now().toISOString(),
    });
    await service.timelineAppend(q, run.tenant, {
      category: 'export',
      kind: 'export.run.started',
      details: { runId: run.run_id, attempt: updated.attempts },
      traceId: run.trace_id ?? undefined,
    });
    const stored = await profileRevision(q, run.profile_name, run.profile_revision);
    if (!stored)
      throw new StellaError(ExportErrors.notFound, `profile ${run.profile_name}@r${run.profile_revision} vanished`);
    return stored.document;
  });
  return { run, profile, adapter: adapterFor(run.profile_kind) };
}

/**
 * The phases of a run, in order; each is a named function over the run context. Timings keep the
 * names operators know from the run log (plan, data, sign, pack, check, store, distribute); encrypting
 * counts in pack (aes-gcm, file by file) or check (age, the whole archive).
 */
async function build(ctx: RunContext): Promise<RunOutcome> {
  const { timings } = ctx;
  const selection = await selectRecords(ctx);
  timings.mark('plan');
  const output = await serialiseRecords(ctx, selection);
  timings.mark('data');
  const settings = bundleSettings(ctx, output);
  const signer = await tenantSigner(ctx);
  const manifest = await writeManifest(ctx, output, settings, signer.keyid);
  const encryption = await prepareEncryption(ctx, output);
  const provenance = writeProvenance(ctx, output, settings, manifest, encryption);
  const signed = signManifests(manifest, provenance, signer, output);
  timings.mark('sign');
  const encrypted = await encryptPayload(ctx, output, encryption);
  const plain = await packBundle(ctx, output, signed, settings, manifest, encrypted);
  timings.mark('pack');
  await checkBundle(ctx, plain, manifest, signed, signer.publicKeyPem, output);
  const packed = await sealArchive(ctx, plain, encryption);
  timings.mark('check');
  // A tenant disabled while its run was building: nothing reaches CAS or a distribution target.
  await tenantGateFor(ctx.services.db).check(ctx.tenant);
  await publishBundle(ctx, packed, manifest, provenance, output, encryption);
  timings.mark('store');
  await distributeBundle(ctx, packed, manifest, settings, output);
  // Staging goes before the run is marked succeeded: a client that sees `succeeded` finds nothing of
  // the run left outside CAS (the finally in execute only covers failures and cancellations).
  await rm(ctx.staging, { recursive: true, force: true });
  await completeRun(ctx);
  timings.mark('distribute');
  return { bytes: packed.written.bytes, records: output.records, phases: timings.seconds };
}

/**
 * A cancelled run just stops. An unexpected error is rethrown for the queue to retry while attempts
 * remain; a coded export error, or the last attempt, fails the run with its code.
 */
async function settleFailure(
  deps: WorkerDeps,
  run: RunRow,
  log: Logger,
  error: unknown,
  retryCount: number,
): Promise<void> {
  if (error instanceof RunCancelled) {
    log.info('export run cancelled');
    return;
  }
  // Coded export errors, and a disabled tenant, fail the run at once: a retry would fail alike.
  const known =
    error instanceof StellaError &&
    (error.code.startsWith('ERR_EXPORT') || error.code === AuthErrors.tenantDisabled.code);
  const lastAttempt = retryCount + 1 >= deps.attempts;
  if (!known && !lastAttempt) {
    log.warn({ err: coerceError(error), attempt: retryCount + 1 }, 'export run attempt failed; it will be retried');
    throw error;
  }
  const code = known ? error.code : ExportErrors.adapter.code;
  const message = coerceError(error).message;
  const errorCode = runErrorCode(code);
  await deps.service.finish(run.tenant, run.run_id, 'failed', { errorCode, errors: [{ code, message }] });
  deps.metrics.failure(run.profile_name, errorCode);
  // A coded failure may name the key the runbook tells operators to grep for (adapter.trivy.unsupported_schema_version).
  const logKey = error instanceof StellaError ? (error.details as { logKey?: string } | undefined)?.logKey : undefined;
  log.error({ errorCode, ...(logKey ? { key: logKey } : {}), err: coerceError(error) }, 'export run failed');
}

/**
 * The queue dead-lettered a run's job while the run was still open: its worker died (or stopped
 * reporting) on the last attempt, so nothing settled it. The run fails with ERR_EXPORT_ABANDONED, an
 * event on its stream and `export.run.failed` on the timeline. Idempotent: a run already settled (a
 * coded failure, a cancel) or gone is left as it is.
 */
export async function failAbandonedRun(
  deps: Pick<WorkerDeps, 'service' | 'metrics' | 'logger'>,
  letter: DeadLetter,
): Promise<void> {
  const { tenant, runId } = (letter.data ?? {}) as { tenant?: unknown; runId?: unknown };
  if (typeof tenant !== 'string' || typeof runId !== 'string') return;
  const code = ExportErrors.abandoned.code;
  const reason = letter.error || 'the worker stopped reporting';
  const message = `the last of ${letter.retryCount + 1} attempts stopped without finishing (${reason}); its job was dead-lettered`;
  const failed = await deps.service.finish(tenant, runId, 'failed', { errorCode: code, errors: [{ code, message }] });
  if (!failed) return;
  deps.metrics.failure(failed.profile_name, code);
  deps.logger.error(
    { runId, tenant, errorCode: code, deadLetter: letter.id, attempts: letter.retryCount + 1 },
    'export run abandoned: failed after its job was dead-lettered',
  );
}
