// SPDX-License-Identifier: Apache-2.0
// The first two phases of a run, both delegated to the profile's adapter: select counts what the
// selectors match (and refuses an empty run), serialise stages the bundle's data files.
import { StellaError } from '@stella/core';
import type { AdapterOutput, Selection } from '../adapters/adapter.ts';
import { ExportErrors } from '../errors.ts';
import { loadBase } from './base.ts';
import type { RunContext } from './context.ts';

// Records per database page: a few hundred KiB of JSONL, large enough to keep round trips few.
const PAGE_SIZE = 500;

/** Counts the selection; none is ERR_EXPORT_EMPTY unless the run was submitted with allowEmpty. */
export async function selectRecords(ctx: RunContext): Promise<Selection> {
  const { db } = ctx.services;
  const selection = await ctx.adapter.select({
    db,
    tenant: ctx.tenant,
    profile: ctx.profile,
    selectors: ctx.selectors,
    policySnapshotId: ctx.run.policy_snapshot_id,
    baseExportId: ctx.run.base_export_id,
  });
  if (selection.total === 0 && !ctx.run.allow_empty) {
    throw new StellaError(
      ExportErrors.empty,
      `the selectors matched no ${selection.families.join(' or ')} records; widen them or submit with allowEmpty`,
    );
  }
  return selection;
}

/** SOURCE_DATE_EPOCH as a time, when set (negative means unset). */
export function fixedTime(ctx: RunContext): Date | undefined {
  const epoch = ctx.services.config.export.sourceDateEpoch;
  return epoch >= 0 ? new Date(epoch * 1000) : undefined;
}

/** Stages the data files, reporting progress from 0 to every record written. */
export async function serialiseRecords(ctx: RunContext, selection: Selection): Promise<AdapterOutput> {
  await ctx.progress(0, selection.total, true);
  const output = await ctx.adapter.serialise(
    {
      db: ctx.services.db,
      tenant: ctx.tenant,
      profile: ctx.profile,
      selectors: ctx.selectors,
      policySnapshotId: ctx.run.policy_snapshot_id,
      baseExportId: ctx.run.base_export_id,
      config: ctx.services.config.export,
      platformSigner: (purpose, algorithm) => ctx.services.signing.getSigner(ctx.tenant, purpose, algorithm),
      loadBase: () => loadBase(ctx),
      stagingDir: ctx.staging,
      pageSize: PAGE_SIZE,
      progress: (done, total) => ctx.progress(done, total),
      fixedTime: fixedTime(ctx),
    },
    selection,
  );
  await ctx.progress(output.records, output.records, true);
  return output;
}
