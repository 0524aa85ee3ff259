// SPDX-License-Identifier: Apache-2.0
// The row checks of `stella aoc verify`: each stored row against its own bytes, the forbidden keys,
// the id scheme and its supersedes link, its export frame, and each document against having one head.
import type { Queryable } from '@stella/platform';
import { AocErrors } from '../errors.ts';
import type { RawStore } from '../ingest/envelope.ts';
import { forkedHeads, framesNotMatching, rowsToVerify, type VerifyRow, type VerifyWindow } from '../sql/verify.ts';
import type { VerifyViolation } from './run.ts';

/** What is wrong with one stored row, judged from the row and the one it supersedes. */
export function rowViolations(store: RawStore, row: VerifyRow): VerifyViolation[] {
  const out: VerifyViolation[] = [];
  const add = (code: string, path: string, message: string) =>
    out.push({ code, store, id: row.id, source: row.source_vendor, path, message });
  if (row.actual_hash !== row.content_hash) {
    add(
      AocErrors.signatureMismatch.code,
      '/upstream/content_hash',
      `stored bytes hash to ${row.actual_hash}, the record says ${row.content_hash}: the raw document was altered`,
    );
  }
  if (row.forbidden) {
    add(AocErrors.forbiddenField.code, row.forbidden, `forbidden field at ${row.forbidden}`);
  }
  const expectedId = `${store}:${row.source_vendor}:${row.upstream_id}:${row.revision}`;
  if (row.id !== expectedId) {
    add(AocErrors.idempotency.code, '/id', `id does not follow the scheme (expected ${expectedId})`);
  }
  const link = supersedesViolation(row);
  if (link) add(AocErrors.idempotency.code, '/supersedes', link);
  return out;
}

/** Revision 1 supersedes nothing; revision n supersedes revision n-1 of the same document, which exists. */
function supersedesViolation(row: VerifyRow): string | undefined {
  if (row.revision === 1 && row.supersedes !== null) {
    return 'the first revision supersedes nothing, yet supersedes is set';
  }
  if (row.revision > 1 && row.supersedes === null) return `revision ${row.revision} has no supersedes link`;
  if (row.supersedes !== null && row.prev_id === null) {
    return `supersedes ${row.supersedes} does not resolve: a revision was deleted`;
  }
  if (
    row.prev_id !== null &&
    (row.prev_vendor !== row.source_vendor ||
      row.prev_upstream !== row.upstream_id ||
      row.prev_revision !== row.revision - 1)
  ) {
    return `supersedes ${row.prev_id}, which is not revision ${row.revision - 1} of the same document`;
  }
  return undefined;
}

/** Checks up to `limit` rows of one store in the window, then the window's documents for forks. */
export async function checkStore(
  tx: Queryable,
  store: RawStore,
  window: VerifyWindow,
  limit: number,
  out: VerifyViolation[],
): Promise<{ checked: VerifyRow[]; truncated: boolean }> {
  const rows = await rowsToVerify(tx, store, window, limit + 1);
  const truncated = rows.length > limit;
  const checked = rows.slice(0, limit);
  for (const row of checked) out.push(...rowViolations(store, row));
  // The export frame is derived from the envelope at ingest; json:raw writes it as it is stored.
  for (const f of await framesNotMatching(tx, store, window, limit)) {
    out.push({
      code: AocErrors.signatureMismatch.code,
      store,
      id: f.id,
      source: f.source_vendor,
      path: '/export_frame',
      message: 'the stored export frame does not say what the record says: json:raw would export other values',
    });
  }
  // One head per document: of the documents touched in the window, none may have two unsuperseded rows.
  for (const h of await forkedHeads(tx, store, window)) {
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
