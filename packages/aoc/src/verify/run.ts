// SPDX-License-Identifier: Apache-2.0
// `POST /aoc/verify`: re-checks stored rows independently of the write path, so anything slipped
// past the API (a superuser UPDATE with triggers disabled, a restored backup, a deleted revision)
// shows up: the stored bytes' hash, forbidden envelope keys, the id scheme and
// the supersedes chains (every link resolves to the previous revision, one head per document).
import { Errors, StellaError } from '@stella/core';
import type { Ctx, Queryable } from '@stella/platform';
import Type, { type Static } from 'typebox';
import { AocErrors } from '../errors.ts';
import type { RawStore } from '../ingest/envelope.ts';
import type { AocMetrics } from '../metrics.ts';

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
  const m = /^(\d+)\s*(s|m|h|d)$/.exec(value.trim());
  if (m) {
    const unit = { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(m[1]) * unit * 1000);
  }
  const t = new Date(value);
  if (Number.isNaN(t.getTime())) {
    throw new StellaError(Errors.validation, `since must be an RFC 3339 time or a duration like 24h, not "${value}"`);
  }
  return t;
}

interface Row {
  id: string;
  revision: number;
  source_vendor: string;
  upstream_id: string;
  content_hash: string;
  actual_hash: string;
  forbidden: string | null;
  supersedes: string | null;
  prev_id: string | null;
  prev_vendor: string | null;
  prev_upstream: string | null;
  prev_revision: number | null;
}

async function checkStore(
  tx: Queryable,
  store: RawStore,
  since: Date,
  until: Date,
  sources: readonly string[] | undefined,
  limit: number,
  out: VerifyViolation[],
): Promise<{ checked: Row[]; truncated: boolean }> {
  const { rows } = await tx.query<Row>(
    `select r.id, r.revision, r.source_vendor, r.upstream_id, r.content_hash,
            'sha256:' || encode(sha256(convert_to(r.raw, 'UTF8')), 'hex') as actual_hash,
            aoc_envelope_violation(r.signature, r.identifiers, r.linkset, r.schema_validation) as forbidden,
            r.supersedes, p.id as prev_id, p.source_vendor as prev_vendor, p.upstream_id as prev_upstream,
            p.revision as prev_revision
       from ${store} r
       left join ${store} p on p.tenant = r.tenant and p.id = r.supersedes
      where r.ingested_at >= $1 and r.ingested_at < $2
        and ($3::text[] is null or r.source_vendor = any($3))
      order by r.ingested_at, r.id
      limit $4`,
    [since.toISOString(), until.toISOString(), sources?.length ? sources : null, limit + 1],
  );
  const truncated = rows.length > limit;
  const checked = rows.slice(0, limit);
  const add = (code: string, row: Row, path: string, message: string) =>
    out.push({ code, store, id: row.id, source: row.source_vendor, path, message });
  for (const row of checked) {
    if (row.actual_hash !== row.content_hash) {
      add(
        AocErrors.signatureMismatch.code,
        row,
        '/upstream/content_hash',
        `stored bytes hash to ${row.actual_hash}, the record says ${row.content_hash}: the raw document was altered`,
      );
    }
    if (row.forbidden) {
      add(AocErrors.forbiddenField.code, row, row.forbidden, `forbidden field at ${row.forbidden}`);
    }
    const expectedId = `${store}:${row.source_vendor}:${row.upstream_id}:${row.revision}`;
    if (row.id !== expectedId) {
      add(AocErrors.idempotency.code, row, '/id', `id does not follow the scheme (expected ${expectedId})`);
    }
    if (row.revision === 1 && row.supersedes !== null) {
      add(
        AocErrors.idempotency.code,
        row,
        '/supersedes',
        'the first revision supersedes nothing, yet supersedes is set',
      );
    } else if (row.revision > 1 && row.supersedes === null) {
      add(AocErrors.idempotency.code, row, '/supersedes', `revision ${row.revision} has no supersedes link`);
    } else if (row.supersedes !== null && row.prev_id === null) {
      add(
        AocErrors.idempotency.code,
        row,
        '/supersedes',
        `supersedes ${row.supersedes} does not resolve: a revision was deleted`,
      );
    } else if (
      row.prev_id !== null &&
      (row.prev_vendor !== row.source_vendor ||
        row.prev_upstream !== row.upstream_id ||
        row.prev_revision !== row.revision - 1)
    ) {
      add(
        AocErrors.idempotency.code,
        row,
        '/supersedes',
        `supersedes ${row.prev_id}, which is not revision ${row.revision - 1} of the same document`,
      );
    }
  }
  // One head per document: of the documents touched in the window, none may have two unsuperseded rows.
  const heads = await tx.query<{ id: string; source_vendor: string; upstream_id: string; heads: number }>(
    `select min(r.id) as id, r.source_vendor, r.upstream_id, count(*)::int as heads
       from ${store} r
      where (r.source_vendor, r.upstream_id) in (
              select source_vendor, upstream_id from ${store}
               where ingested_at >= $1 and ingested_at < $2 and ($3::text[] is null or source_vendor = any($3)))
        and not exists (select 1 from ${store} n where n.tenant = r.tenant and n.supersedes = r.id)
      group by r.source_vendor, r.upstream_id
     having count(*) > 1`,
    [since.toISOString(), until.toISOString(), sources?.length ? sources : null],
  );
  for (const h of heads.rows) {
    out.push({
      code: AocErrors.idempotency.code,
      store,
      id: h.id,
      source: h.source_vendor,
      path: '/supersedes',
      message: `${h.upstream_id} has ${h.heads} heads: its revision chain forked`,
    });
  }
  return { checked, truncated };
}

// Rows are stamped when prepared, a moment before their transaction appends the event.
const WITNESS_SLACK_MS = 60 * 60 * 1000;

/**
 * The timeline as witness: every row stella writes is named, with its hash, by an aoc.raw.ingested
 * event in the same transaction, and the timeline is hash-chained. A row without an event was
 * slipped in by SQL; a recorded row that is gone was deleted; a different hash was rewritten
 * consistently (bytes and content_hash together), which the row checks alone cannot see.
 */
async function checkWitness(
  ctx: Ctx,
  tenant: string,
  stores: readonly RawStore[],
  rows: ReadonlyMap<RawStore, Row[]>,
  window: { since: Date; until: Date; sources: readonly string[] | undefined },
  out: VerifyViolation[],
): Promise<void> {
  const witnessed = new Map<string, { hash: string; vendor: string; at: Date }>();
  for await (const event of ctx.timeline.stream(tenant, {
    kind: 'aoc.raw.ingested',
    since: window.since.toISOString(),
    until: new Date(window.until.getTime() + WITNESS_SLACK_MS).toISOString(),
  })) {
    const documents = (event.details as { documents?: Array<{ id: string; vendor?: string; content_hash: string }> })
      .documents;
    for (const d of documents ?? []) {
      witnessed.set(d.id, { hash: d.content_hash, vendor: d.vendor ?? '', at: new Date(event.occurredAt) });
    }
  }
  const wantedSource = (vendor: string) => !window.sources?.length || window.sources.includes(vendor);
  for (const store of stores) {
    for (const row of rows.get(store) ?? []) {
      const seen = witnessed.get(row.id);
      if (!seen) {
        out.push({
          code: AocErrors.missingProvenance.code,
          store,
          id: row.id,
          source: row.source_vendor,
          path: '',
          message:
            'no aoc.raw.ingested event records this row: it was written outside stella (direct SQL or a restore)',
        });
      } else if (seen.hash !== row.content_hash) {
        out.push({
          code: AocErrors.signatureMismatch.code,
          store,
          id: row.id,
          source: row.source_vendor,
          path: '/upstream/content_hash',
          message: `the row says ${row.content_hash}, the ingest event recorded ${seen.hash}: bytes and hash were rewritten together`,
        });
      }
    }
    const recorded = [...witnessed.entries()].filter(
      ([id, w]) => id.startsWith(`${store}:`) && w.at < window.until && wantedSource(w.vendor),
    );
    if (recorded.length === 0) continue;
    const { rows: missing } = await ctx.db.transaction(
      (tx) =>
        tx.query<{ id: string }>(
          `select w.id from unnest($1::text[]) as w(id)
            where not exists (select 1 from ${store} r where r.id = w.id) order by w.id`,
          [recorded.map(([id]) => id)],
        ),
      { tenant },
    );
    for (const { id } of missing) {
      out.push({
        code: AocErrors.idempotency.code,
        store,
        id,
        source: witnessed.get(id)!.vendor,
        path: '',
        message: 'recorded by an aoc.raw.ingested event but no longer stored: the row was deleted',
      });
    }
  }
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
  const rows = new Map<RawStore, Row[]>();
  await ctx.db.transaction(
    async (tx) => {
      for (const store of stores) {
        const r = await checkStore(tx, store, since, until, request.sources, limit, all);
        checked[store] = r.checked.length;
        rows.set(store, r.checked);
        truncated ||= r.truncated;
      }
    },
    { tenant },
  );
  // The timeline is read in its own transactions (it pages), so this runs after the row checks.
  await checkWitness(ctx, tenant, stores, rows, { since, until, sources: request.sources }, all);
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
