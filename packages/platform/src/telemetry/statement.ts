// What a SQL span may say about its statement: the text with every quoted literal blanked and cut to
// a bounded length, and the operation keyword. Parameter values never reach a span; literals are
// blanked too because a statement built with one (a role's password, a migration's seed row) would
// otherwise carry it into the trace backend, which is not where secrets belong.

/** Long enough for any statement a room writes; a migration script or a pg-boss block is cut. */
export const STATEMENT_CHARS = 2048;

// A single-quoted literal ('' escapes a quote inside it), optionally E-prefixed; dollar-quoted bodies
// ($$…$$, $tag$…$tag$) are function bodies and DO blocks in migrations.
const QUOTED_LITERAL = /(?:\b[Ee])?'(?:[^']|'')*'?|\$(\w*)\$[\s\S]*?(?:\$\1\$|$)/g;
const FIRST_KEYWORD = /^\s*(?:--[^\n]*\n\s*|\/\*[\s\S]*?\*\/\s*)*([A-Za-z]+)/;

/** The statement as a span shows it: literals replaced by `?`, at most STATEMENT_CHARS characters. */
export function statementForSpan(text: string): string {
  // Cutting first bounds the regular expression's work on a long script; a literal cut in half is
  // still blanked (its closing quote is optional in the pattern).
  const head = text.length > STATEMENT_CHARS * 2 ? text.slice(0, STATEMENT_CHARS * 2) : text;
  const blanked = head.replace(QUOTED_LITERAL, '?');
  return blanked.length > STATEMENT_CHARS ? `${blanked.slice(0, STATEMENT_CHARS - 1)}…` : blanked;
}

/** The statement's first keyword in upper case (SELECT, INSERT, WITH, BEGIN…), or undefined. */
export function operationOf(text: string): string | undefined {
  return FIRST_KEYWORD.exec(text)?.[1]?.toUpperCase();
}
