// SPDX-License-Identifier: Apache-2.0
// `POST /aoc/verify`: re-checks stored rows independently of the write path, so anything slipped
// past the API (a superuser UPDATE with triggers disabled, a restored backup, a deleted revision)
// shows up: the stored bytes' hash, forbidden envelope keys, the id scheme and
// the supersedes chains (every link resolves to the previous revision, one head per document).
import { durationSeconds, Errors, StellaError } from '@stella/core';
import type { Ctx } from '@stella/platform';
import Type, { type Static } from 'typebox';
import type { RawStore } from '../ingest/envelope.ts';
import type { AocMetrics } from '../metrics.ts';
import type { VerifyRow, VerifyWindow } from '../sql/verify.ts';
import { checkStore } from './checks.ts';
import { checkWitness } from './witness.ts';

export const VerifyRequestSchema = Type.Object(
  {
    since: Type.String({ default: '24h', description: 'RFC 3339 time or a duration back from now (30m, 24h, 7d)' }),
    until: Type.Optional(Type.String({ description: 'RFC 3339 upper bound (exclusive); default now' })),
    sources: Type.Optional(Type.Array(Type.String(), { description: 'Only these source vendors' })),
    codes: Type.Optional(
      Type.Array(Type.String({ pattern: '^ERR_AOC_00[1-7]$' }), { description: 'Only report these codes' }),
    ),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1_000_000, default: 100_000, description: 'Most rows checked per store' }),
    ),
  },
  { additionalProperties: false },
);
export type VerifyRequest = Static<typeof VerifyRequestSchema>;

export interface VerifyViolation {
  code: string;
  store: RawStore;
  id: string;
  source: string;
  path: string;
  message: string;
}

export interface VerifyReport {
  tenant: string;
  since: string;
  until: string;
  checked: Record<RawStore, number>;
  stores: RawStore[];
  violations: VerifyViolation[];
  byCode: Record<string, number>;
  truncated: boolean;
  ok: boolean;
}

const MAX_VIOLATIONS = 1000;

/** Who asked, as the x-stella-initiator header says: one of the known initiators, else `api`. */
export function verifyInitiator(value: string | undefined): string {
  const initiator = value ?? 'api';
  return ['ui', 'cli', 'api', 'scheduled'].includes(initiator) ? initiator : 'api';
}

export function resolveSince(value: string, now: Date): Date {
  const seconds = durationSeconds(value);
  if (seconds !== undefined) return new Date(now.getTime() - seconds * 1000);
  const t = new Date(value);
  if (Number.isNaN(t.getTime())) {
    throw new StellaError(Errors.validation, `since must be an RFC 3339 time or a duration like 24h, not "${value}"`);
  }
  return t;
}

export async function runVerify(
  ctx: Ctx,
  metrics: AocMetrics,
  tenant: string,
  request: Partial<VerifyRequest>,
  options: { initiator: string; includeVex: boolean },
): Promise<VerifyReport> {
  const started = performance.now();
  const now = ctx.clock.now();
  const since = resolveSince(request.since ?? '24h', now);
  const until = request.until ? resolveSince(request.until, now) : new Date(now.getTime() + 1000);
  const limit = request.limit ?? 100_000;
  const stores: RawStore[] = options.includeVex ? ['advisory_raw', 'vex_raw'] : ['advisory_raw'];
  const all: VerifyViolation[] = [];
  const checked = { advisory_raw: 0, vex_raw: 0 } as Record<RawStore, number>;
  let truncated = false;
  const window: VerifyWindow = { since, until, sources: request.sources };
  const rows = new Map<RawStore, VerifyRow[]>();
  await ctx.db.transaction(
    async (tx) => {
      for (const store of stores) {
        const r = await checkStore(tx, store, window, limit, all);
        checked[store] = r.checked.length;
        rows.set(store, r.checked);
        truncated ||= r.truncated;
      }
    },
    { tenant },
  );
  // The timeline is read in its own transactions (it pages), so this runs after the row checks.
  await checkWitness(ctx, tenant, stores, rows, window, all);
  const wanted = request.codes?.length ? new Set(request.codes) : undefined;
  const filtered = wanted ? all.filter((v) => wanted.has(v.code)) : all;
  const byCode: Record<string, number> = {};
  for (const v of filtered) byCode[v.code] = (byCode[v.code] ?? 0) + 1;
  const violations = filtered.slice(0, MAX_VIOLATIONS);
  truncated ||= filtered.length > MAX_VIOLATIONS;
  const report: VerifyReport = {
    tenant,
    since: since.toISOString(),
    until: until.toISOString(),
    checked,
    stores,
    violations,
    byCode,
    truncated,
    ok: filtered.length === 0 && !truncated,
  };
  metrics.verifyRun(tenant, options.initiator, (performance.now() - started) / 1000);
  for (const v of filtered) metrics.violation(v.source, tenant, v.code);
  await ctx.timeline.record(tenant, {
    category: 'aoc',
    kind: 'aoc.verify.completed',
    details: { initiator: options.initiator, since: report.since, until: report.until, checked, byCode, truncated },
  });
  return report;
}
