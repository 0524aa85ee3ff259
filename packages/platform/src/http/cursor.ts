// Keyset paging cursors: `nextCursor` is an opaque base64url token holding the (time, id) of the last
// row of a page; the next request asks for rows after it. A cursor comes back from the client, so it is
// checked as strictly as any input: a time the database could not cast or an id it could not store was
// a 500 before; now anything but a cursor this server could have issued is a coded 400.
import { type ErrorDefinition, Errors, StellaError } from '@stella/core';
import { firstUnstorable } from './input.ts';

const BASE64URL_RE = /^[A-Za-z0-9_-]+={0,2}$/;
/** Ids in cursors are record ids, bounded by limits.identifierLength (at most 1536) at ingest. */
const MAX_CURSOR_ID_LENGTH = 4096;

export function encodeCursor(time: string, id: string): string {
  return Buffer.from(JSON.stringify([time, id])).toString('base64url');
}

/** The (time, id) of a cursor, or undefined without one; anything else fails with `error` (400). */
export function decodeCursor(
  cursor: string | undefined,
  error: ErrorDefinition = Errors.invalidCursor,
): { time: string; id: string } | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const refuse = (why: string) =>
    new StellaError(error, `cursor is not a nextCursor value from a previous page (${why})`, {
      details: { parameter: 'cursor' },
    });
  if (cursor.length > 4 * MAX_CURSOR_ID_LENGTH || !BASE64URL_RE.test(cursor)) throw refuse('not base64url');
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refuse('not JSON');
  }
  if (!Array.isArray(decoded) || decoded.length !== 2) throw refuse('not a [time, id] pair');
  const [time, id] = decoded as [unknown, unknown];
  // Callers encode `toISOString()`; a time that does not round-trip (2024-02-30, +275760 years) is not theirs.
  if (typeof time !== 'string' || !isIsoTime(time)) {
    throw refuse('its time is not an RFC 3339 timestamp');
  }
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_CURSOR_ID_LENGTH || firstUnstorable(id)) {
    throw refuse('its id is not a record id');
  }
  return { time, id };
}

function isIsoTime(text: string): boolean {
  const time = new Date(text);
  return !Number.isNaN(time.getTime()) && time.toISOString() === text;
}
