// Keyset paging cursors: `nextCursor` is an opaque base64url token holding the (time, id) of the last
// row of a page; the next request asks for rows after it.
import { type ErrorDefinition, Errors, StellaError } from '@stella/core';

export function encodeCursor(time: string, id: string): string {
  return Buffer.from(JSON.stringify([time, id])).toString('base64url');
}

/** The (time, id) of a cursor, or undefined without one; anything else fails with `error` (400). */
export function decodeCursor(
  cursor: string | undefined,
  error: ErrorDefinition = Errors.validation,
): { time: string; id: string } | undefined {
  if (!cursor) return undefined;
  try {
    const [time, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof time === 'string' && typeof id === 'string') return { time, id };
  } catch {
    // fall through
  }
  throw new StellaError(error, 'cursor is not a nextCursor value from a previous page');
}
