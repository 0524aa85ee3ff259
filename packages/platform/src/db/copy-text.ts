// The text format of `COPY … FROM STDIN` (PostgreSQL docs, COPY, "Text Format"): fields joined by a
// tab, a row ended by a newline, `\N` for NULL, and in a value the four characters that would end a
// field or a row, or start an escape, written as escapes. Pure, so the escaping is tested without a server.
import { Errors, StellaError } from '@stella/core';

const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const SPECIAL = /[\\\t\n\r]/g;
const ARRAY_SPECIAL = /["\\]/g;

/**
 * One field. NUL cannot be in a PostgreSQL text value at all (COPY stops with an encoding error), and
 * a lone surrogate would be replaced by U+FFFD on its way to UTF-8, changing the value without a word:
 * both are refused here with the code the write guard gives them, so no path stores a changed value.
 */
export function copyTextField(value: string | null): string {
  if (value === null) return '\\N';
  if (value.includes('\u0000') || !value.isWellFormed()) {
    throw new StellaError(
      Errors.invalidText,
      'a value for COPY holds NUL or a lone surrogate, which PostgreSQL text cannot store',
    );
  }
  return value.replace(SPECIAL, (c) => ESCAPES[c]!);
}

/** One row: its fields in the COPY statement's column order, ended by a newline. */
export function copyTextRow(fields: ReadonlyArray<string | null>): string {
  return `${fields.map(copyTextField).join('\t')}\n`;
}

/**
 * A text[] value as an array literal, every element quoted (so commas, braces, blanks and the word
 * NULL stay text) with its quotes and backslashes escaped; copyTextField then escapes the literal for COPY.
 */
export function textArrayLiteral(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(ARRAY_SPECIAL, '\\$&')}"`).join(',')}}`;
}
