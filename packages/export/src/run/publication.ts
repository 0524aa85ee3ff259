// SPDX-License-Identifier: Apache-2.0
// The publish phase: the checked bundle, export.json and provenance.json go to CAS (atomic writes,
// before the row that points at them), the run records them with its http download, then the
// profile's other distribution drivers push it. A driver failure leaves the bundle downloadable and
// fails the run with ERR_EXPORT_006 (errorCode=distribution) only after every driver was tried.
import { createReadStream } from 'node:fs';
import { coerceError, StellaError } from '@stella/core';
import type { AdapterOciArtifact, AdapterOutput } from '../adapters/adapter.ts';
import type { DistributionArtifact, DistributionInput } from '../distribution/index.ts';
import { ExportErrors } from '../errors.ts';
import { type DistributionRow, getRun, TERMINAL, updateRun, upsertDistribution } from '../sql/runs.ts';
import { RunCancelled, type RunContext } from './context.ts';
import type { RunEncryption } from './encryption.ts';
import type { BuiltManifest, BundleSettings } from './manifests.ts';
import type { PackedBundle } from './packing.ts';

// Stored, waiting for distribution: the last 5 % is pushing and completing.
const STORED_PERCENT = 95;

/** Stores the artefacts and records them on the run, unless it was cancelled meanwhile. */
export async function publishBundle(
  ctx: RunContext,
  packed: PackedBundle,
  manifest: BuiltManifest,
  provenance: { bytes: Buffer; digest: string },
  output: AdapterOutput,
  encryption: RunEncryption | undefined,
): Promise<void> {
  const { service, clock } = ctx.services;
  const { tenant, run } = ctx;
  const blobs = ctx.services.blobs.forTenant(tenant);
  const { written } = packed;
  const stored = await blobs.put('exports', createReadStream(packed.path), { expectedDigest: written.digest });
  const manifestBlob = await blobs.put('exports', manifest.bytes, { expectedDigest: manifest.digest });
  const provenanceBlob = await blobs.put('exports', provenance.bytes, { expectedDigest: provenance.digest });
  const download = `/api/export/runs/${run.run_id}/download`;
  const progress = { percent: STORED_PERCENT, itemsCompleted: output.records, itemsTotal: output.records };
  await service.transaction(tenant, async (q) => {
    const current = await getRun(q, run.run_id, true);
    if (!current || TERMINAL.has(current.status)) throw new RunCancelled();
    await updateRun(q, run.run_id, {
      export_id: manifest.exportId,
      bundle_uri: stored.uri,
      bundle_digest: written.digest,
      bundle_bytes: written.bytes,
      bundle_media_type: packed.mediaType,
      bundle_file_name: packed.fileName,
      tar_digest: written.tarDigest,
      manifest_uri: manifestBlob.uri,
      manifest_digest: manifest.digest,
      provenance_uri: provenanceBlob.uri,
      records: output.records,
      progress,
    });
    await upsertDistribution(q, tenant, run.run_id, {
      driver: 'http',
      status: 'succeeded',
      target: download,
      digest: written.digest,
      seconds: 0,
      error: null,
    });
    await service.emit(q, tenant, run.run_id, 'artifact_ready', {
      runId: run.run_id,
      status: 'running',
      progress,
      ts: clock.now().toISOString(),
      url: download,
      sha256: written.digest,
      type: 'bundle',
      fileName: packed.fileName,
      bytes: written.bytes,
    });
    if (encryption) {
      // The audit record the mirror runbook names (spec §2.5); other kinds get the same under export.
      await service.timelineAppend(q, tenant, {
        category: 'export',
        kind: run.profile_kind.startsWith('mirror:') ? 'mirror.encryption.enabled' : 'export.encryption.enabled',
        details: {
          runId: run.run_id,
          exportId: manifest.exportId,
          mode: encryption.plan.mode,
          recipients: encryption.plan.recipients,
          encryptedFiles: encryption.record.scope === 'files' ? encryption.record.files.length : 0,
          bundleDigest: written.digest,
        },
        traceId: run.trace_id ?? undefined,
      });
    }
  });
}

/** Pushes to every non-http target of the profile, recording each outcome on the run. */
export async function distributeBundle(
  ctx: RunContext,
  packed: PackedBundle,
  manifest: BuiltManifest,
  settings: BundleSettings,
  output: AdapterOutput,
): Promise<void> {
  const input: DistributionInput = {
    tenant: ctx.tenant,
    profileName: ctx.profile.metadata.name,
    exportId: manifest.exportId,
    runId: ctx.run.run_id,
    createdAt: settings.mtime.toISOString(),
    bundle: {
      path: packed.path,
      digest: packed.written.digest,
      bytes: packed.written.bytes,
      mediaType: packed.mediaType,
      fileName: packed.fileName,
    },
    manifest: { bytes: manifest.bytes, digest: manifest.digest },
    ...(output.ociArtifact ? { artifact: distributionArtifact(output.ociArtifact, output, manifest.exportId) } : {}),
  };
  const failures: string[] = [];
  for (const name of ctx.profile.spec.distribution) {
    if (name === 'http') continue;
    const { row, failure } = await pushTo(ctx, name, input);
    if (failure !== undefined) failures.push(failure);
    await ctx.services.service.transaction(ctx.tenant, (q) => upsertDistribution(q, ctx.tenant, ctx.run.run_id, row));
  }
  if (failures.length > 0) {
    throw new StellaError(
      ExportErrors.distribution,
      `${failures.join('; ')} — the bundle is still downloadable: stella export download ${ctx.run.run_id}`,
    );
  }
}

/** The adapter's artifact with its layers resolved to staged files; its tags follow the export id. */
function distributionArtifact(
  artifact: AdapterOciArtifact,
  output: AdapterOutput,
  exportId: string,
): DistributionArtifact {
  const layers = artifact.layers.map((layer) => {
    const staged = output.files.find((f) => f.path === layer.of);
    if (!staged) throw new Error(`the adapter's OCI layer ${layer.of} was not staged`);
    return {
      path: staged.file,
      digest: staged.digest,
      size: staged.size,
      mediaType: layer.mediaType,
      title: layer.title,
    };
  });
  return { artifactType: artifact.artifactType, layers, tags: [exportId, ...artifact.tags], created: artifact.created };
}

/** One driver's push, as the row the run records and the failure it reports; it never throws. */
async function pushTo(
  ctx: RunContext,
  name: 'oci' | 'object',
  input: DistributionInput,
): Promise<{ row: DistributionRow; failure?: string }> {
  const failed = (error: string): DistributionRow => ({
    driver: name,
    status: 'failed',
    target: null,
    digest: null,
    seconds: null,
    error,
  });
  const driver = ctx.services.drivers[name];
  if (!driver) {
    const message = `distribution ${name} is not configured on this server (export.${name === 'oci' ? 'oci.registry' : 'objectStore.url'})`;
    return { row: failed(message), failure: message };
  }
  try {
    const result = await driver.push(input);
    ctx.services.metrics.distribution(name, result.seconds);
    const row: DistributionRow = {
      driver: name,
      status: 'succeeded',
      target: result.target,
      digest: result.digest,
      seconds: result.seconds,
      error: null,
    };
    return { row };
  } catch (error) {
    const message = coerceError(error).message;
    ctx.log.warn(
      { driver: name, err: coerceError(error) },
      'export distribution failed; the bundle stays downloadable over http',
    );
    return { row: failed(message), failure: `${name}: ${message}` };
  }
}

/** Marks the run succeeded; a run cancelled meanwhile stays cancelled. */
export async function completeRun(ctx: RunContext): Promise<void> {
  const done = await ctx.services.service.finish(ctx.tenant, ctx.run.run_id, 'succeeded', {});
  if (!done) throw new RunCancelled();
}
