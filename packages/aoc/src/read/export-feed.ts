// SPDX-License-Identifier: Apache-2.0
// The AOC room's answer to the Export Center: the head revisions of a tenant's raw documents that
// match export selectors (or every revision, for mirrors that rebuild whole chains elsewhere), in
// record-id order, page by page, with their bytes exactly as stored.
// Export reads the raw stores only through these functions.
import { canonicalJson } from '@stella/core';
import type { Db, Tx } from '@stella/platform';
import type { AocEnvelope, RawStore } from '../ingest/envelope.ts';
import {
  countHeads,
  headLinesQuery,
  headsPage,
  type LineRow,
  type RawSelectors,
  type RevisionScope,
} from '../sql/export-feed.ts';
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

export interface RawExportLine {
  id: string;
  /** The record's json:raw line as UTF-8 (no newline): the canonical JSON of its envelope with content.raw. */
  line: Buffer;
  contentHash: string;
  retrievedAt: string;
}

/**
 * The heads matching the selectors as json:raw lines, in record-id byte order, handed to `onPage` a
 * page at a time; the next page is read while `onPage` works on the current one. Where transactions
 * run side by side (PostgreSQL) every page comes from one cursor in one transaction: the export sees
 * one snapshot of the store however long it takes. PGlite has one session, and a transaction held
 * for a whole export would stop every other request, so there each page is its own transaction
 * (keyset on id), and a document ingested while the pages are read may or may not be in the export,
 * as with the listing API. An error from `onPage` ends the read (the transaction rolls back) and is
 * rethrown.
 */
export async function forEachHeadLinePage(
  db: Db,
  tenant: string,
  store: RawStore,
  selectors: RawSelectors,
  pageSize: number,
  onPage: (page: RawExportLine[]) => Promise<void>,
): Promise<void> {
  const size = Math.max(1, Math.floor(pageSize));
  if (db.capabilities.concurrentTransactions) {
    await db.transaction(
      async (tx) => {
        const { sql, params } = headLinesQuery(store, tenant, selectors);
        await tx.query(`declare export_heads no scroll cursor for ${sql}`, params);
        const fetch = async () => (await tx.query<LineRow>(`fetch forward ${size} from export_heads`)).rows;
        await readAhead(fetch, size, onPage);
      },
      { tenant },
    );
    return;
  }
  let after = '';
  await readAhead(
    () => {
      const { sql, params } = headLinesQuery(store, tenant, selectors, { after, limit: size });
      return db.transaction(async (tx: Tx) => (await tx.query<LineRow>(sql, params)).rows, { tenant });
    },
    size,
    onPage,
    (rows) => {
      after = rows.at(-1)!.id;
    },
  );
}

/**
 * Calls `fetch` until a page comes back short, handing each page to `onPage` while the next one is
 * fetched; `advance` runs before the next fetch starts (a keyset moves there).
 */
async function readAhead(
  fetch: () => Promise<LineRow[]>,
  pageSize: number,
  onPage: (page: RawExportLine[]) => Promise<void>,
  advance: (rows: LineRow[]) => void = () => {},
): Promise<void> {
  let pending = fetch();
  for (;;) {
    const rows = await pending;
    const full = rows.length === pageSize;
    if (full) {
      advance(rows);
      pending = fetch();
      // Surfaces on the next await; if onPage throws first it must not be left unhandled.
      pending.catch(() => {});
    }
    if (rows.length > 0) await onPage(rows.map(lineOf));
    if (!full) return;
  }
}

/** The line the database built, or for a record stored before export frames, the line made here. */
function lineOf(row: LineRow): RawExportLine {
  return {
    id: row.id,
    contentHash: row.content_hash,
    retrievedAt: row.retrieved_at,
    line: row.line === null ? legacyLine(row.envelope!, row.raw!) : Buffer.from(row.line, 'utf8'),
  };
}

/** The line of a record stored before export frames, made as the export made every line before. */
function legacyLine(envelopeJson: string, raw: Uint8Array): Buffer {
  const envelope = JSON.parse(envelopeJson) as AocEnvelope;
  const text = Buffer.from(raw).toString('utf8');
  return Buffer.from(canonicalJson({ ...envelope, content: { ...envelope.content, raw: text } }), 'utf8');
}
