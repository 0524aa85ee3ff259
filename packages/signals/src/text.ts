// Text that PostgreSQL cannot store (NUL) or that is not Unicode (an unpaired UTF-16 surrogate) is
// refused where it enters signals, with ERR_INVALID_TEXT (400). Without this the database refused it
// mid-transaction and the client saw a 500.
import { Errors, StellaError } from '@stella/core';

/** Throws ERR_INVALID_TEXT naming `where` unless `value` can be stored as text. */
export function assertStorableText(value: string, where: string): void {
  if (value.includes('\u0000')) {
    throw new StellaError(Errors.invalidText, `${where} holds a NUL character, which cannot be stored`);
  }
  if (!value.isWellFormed()) {
    throw new StellaError(Errors.invalidText, `${where} holds an unpaired UTF-16 surrogate: not valid Unicode`);
  }
}

/** assertStorableText for each string member of `record` (query strings, subjects). */
export function assertStorableMembers(record: Record<string, unknown> | undefined, where: string): void {
  for (const [key, value] of Object.entries(record ?? {})) {
    if (typeof value === 'string') assertStorableText(value, `${where} ${key}`);
  }
}
