// SPDX-License-Identifier: Apache-2.0
// The base of a mirror:delta run, fetched for its adapter: the succeeded run that produced the export id
// stored on the run, and its bundle copied from CAS into the run's staging directory (the adapter reads
// the base's indexes from it). A base pruned or lost since submission is ERR_EXPORT_BASE_MISSING, which
// fails the run at once with the runbook's remedy.
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { StellaError } from '@stella/core';
import type { BaseExport } from '../adapters/adapter.ts';
import { isAgeFile } from '../bundle/index.ts';
import { ExportErrors } from '../errors.ts';
import { runByExportId } from '../sql/runs.ts';
import type { RunContext } from './context.ts';

export async function loadBase(ctx: RunContext): Promise<BaseExport> {
  const exportId = ctx.run.base_export_id;
  const missing = (why: string) =>
    new StellaError(
      ExportErrors.baseMissing,
      `base export ${exportId ?? '(none)'} ${why}; run mirror:full and build deltas on it`,
    );
  if (!exportId) throw missing('is not set on the run');
  const run = await ctx.services.service.transaction(ctx.tenant, (q) => runByExportId(q, exportId));
  if (!run?.bundle_uri || !run.manifest_digest) throw missing('is no longer stored (pruned by retention?)');
  const bundlePath = join(ctx.staging, 'base-bundle');
  try {
    await pipeline(await ctx.services.blobs.forTenant(ctx.tenant).get(run.bundle_uri), createWriteStream(bundlePath));
  } catch (error) {
    throw missing(`cannot be read from CAS: ${(error as Error).message}`);
  }
  if (await isAgeFile(bundlePath)) {
    // Its indexes are inside the age file, which only the recipients can open.
    throw missing(
      'is encrypted whole with age (profile encryption mode age), so this server cannot read its indexes; chain deltas on a mirror:full with encryption mode aes-gcm (its indexes stay readable) or none',
    );
  }
  return { exportId, manifestDigest: run.manifest_digest, bundlePath };
}
