// SPDX-License-Identifier: Apache-2.0
// The AOC room's answer to the Export Center: the head revisions of a tenant's raw documents that
// match export selectors (or every revision, for mirrors that rebuild whole chains elsewhere), in
// record-id order, page by page, with their bytes exactly as stored.
// Export reads the raw stores only through these two functions.
import type { Db } from '@stella/platform';
import type { AocEnvelope, RawStore } from '../ingest/envelope.ts';
import { countHeads, headsPage, type RawSelectors, type RevisionScope } from '../sql/export-feed.ts';
import { envelopeFromRow } from '../sql/raw.ts';

export type { RawSelectors, RevisionScope };

export interface RawExportRecord {
  store: RawStore;
  /** The envelope, with content.raw unset. */
  envelope: AocEnvelope;
  /** The upstream document exactly as received (its sha256 is envelope.upstream.content_hash). */
  raw: string;
  retrievedAt: string;
}

/** How many head documents of `store` match the selectors. */
export async function countRawForExport(
  db: Db,
  tenant: string,
  store: RawStore,
  selectors: RawSelectors,
  scope: RevisionScope = 'heads',
): Promise<number> {
  return db.transaction((tx) => countHeads(tx, store, selectors, scope), { tenant });
}

/**
 * Head documents matching the selectors in id order, one page per transaction (keyset on id). The
 * next page is fetched while the caller works on the current one, so reading overlaps writing.
 */
export async function* streamRawForExport(
  db: Db,
  tenant: string,
  store: RawStore,
  selectors: RawSelectors,
  pageSize = 500,
  scope: RevisionScope = 'heads',
): AsyncGenerator<RawExportRecord[]> {
  const fetchAfter = (after: string) =>
    db.transaction((tx) => headsPage(tx, store, tenant, selectors, after, pageSize, scope), { tenant });
  let pending = fetchAfter('');
  for (;;) {
    const rows = await pending;
    const full = rows.length === pageSize;
    if (full) {
      pending = fetchAfter(rows.at(-1)!.id);
      // Surfaces on the next await; until then an early return must not leave it unhandled.
      pending.catch(() => {});
    }
    if (rows.length > 0) {
      yield rows.map((row) => {
        const { raw, ...columns } = row;
        const envelope = envelopeFromRow(columns);
        return { store, envelope, raw, retrievedAt: envelope.upstream.retrieved_at };
      });
    }
    if (!full) return;
  }
}
