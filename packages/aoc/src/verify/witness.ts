// SPDX-License-Identifier: Apache-2.0
// The timeline as witness of the raw stores: what stella wrote is on record with its hash, so rows
// slipped in, deleted or rewritten together with their hash show up in `stella aoc verify`.
import type { Ctx } from '@stella/platform';
import { AocErrors } from '../errors.ts';
import type { RawStore } from '../ingest/envelope.ts';
import { missingIds, type VerifyRow, type VerifyWindow } from '../sql/verify.ts';
import type { VerifyViolation } from './run.ts';

// Rows are stamped when prepared, a moment before their transaction appends the event.
const WITNESS_SLACK_MS = 60 * 60 * 1000;

/**
 * The timeline as witness: every row stella writes is named, with its hash, by an aoc.raw.ingested
 * event in the same transaction, and the timeline is hash-chained. A row without an event was
 * slipped in by SQL; a recorded row that is gone was deleted; a different hash was rewritten
 * consistently (bytes and content_hash together), which the row checks alone cannot see.
 */
export async function checkWitness(
  ctx: Ctx,
  tenant: string,
  stores: readonly RawStore[],
  rows: ReadonlyMap<RawStore, VerifyRow[]>,
  window: VerifyWindow,
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
    const missing = await ctx.db.transaction(
      (tx) =>
        missingIds(
          tx,
          store,
          recorded.map(([id]) => id),
        ),
      { tenant },
    );
    for (const id of missing) {
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
