// SPDX-License-Identifier: Apache-2.0
// The tenant's run quota: runs per UTC day (config default, or an operator's override; 0 pauses
// submissions), reported in the X-Stella-Quota-* headers.
import { StellaError } from '@stella/core';
import type { Queryable } from '@stella/platform';
import { ExportErrors } from '../errors.ts';
import { quotaOverride, runsCreatedSince, setQuota as storeQuota } from '../sql/runs.ts';
import type { ServiceCore } from './core.ts';

export interface QuotaState {
  limit: number;
  remaining: number;
  /** Unix seconds when the window resets (next UTC midnight). */
  reset: number;
}

const DAY_SECONDS = 86_400;

/** Today's quota in the caller's transaction, so a submission counts and inserts atomically. */
export async function quotaState(core: ServiceCore, q: Queryable, tenant: string): Promise<QuotaState> {
  const now = core.deps.clock.now();
  const dayStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const limit = (await quotaOverride(q, tenant)) ?? core.deps.defaultRunsPerDay;
  const used = await runsCreatedSince(q, dayStart);
  return {
    limit,
    remaining: Math.max(0, limit - used),
    reset: Math.floor(dayStart.getTime() / 1000) + DAY_SECONDS,
  };
}

export function quotaHeaders(quota: QuotaState): Record<string, string> {
  return {
    'X-Stella-Quota-Limit': String(quota.limit),
    'X-Stella-Quota-Remaining': String(quota.remaining),
    'X-Stella-Quota-Reset': String(quota.reset),
  };
}

function quota(core: ServiceCore, tenant: string): Promise<QuotaState> {
  return core.tx(tenant, (q) => quotaState(core, q, tenant));
}

async function setQuota(
  core: ServiceCore,
  tenant: string,
  runsPerDay: number,
  actor: string | null,
): Promise<QuotaState> {
  if (!Number.isInteger(runsPerDay) || runsPerDay < 0) {
    throw new StellaError(ExportErrors.validation, 'runsPerDay must be an integer ≥ 0 (0 pauses submissions)');
  }
  return core.tx(tenant, async (q) => {
    await storeQuota(q, tenant, runsPerDay, actor);
    await core.deps.timeline.append(q, tenant, {
      category: 'export',
      kind: 'export.quota.updated',
      details: { runsPerDay, by: actor },
    });
    return quotaState(core, q, tenant);
  });
}

/** The quota half of the service; each takes the service core first (see bindCore). */
export const quotaOperations = { quota, setQuota };
