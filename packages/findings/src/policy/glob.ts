// SPDX-License-Identifier: Apache-2.0
// The policy's globs over purls, issuers, vulnerability ids and witness-path entries: `*` any run of
// characters (`/` included: a purl's namespace is part of the name it globs), `?` one character, `\`
// the next character literally. `[` and `{` are refused rather than read literally, so character
// classes or alternatives can be added later without changing what an existing policy matches.

export interface CompiledGlob {
  test(value: string): boolean;
}

/** Why the text is not a glob, or undefined when it is one. */
export function globProblem(text: string): string | undefined {
  if (text === '') return 'a glob cannot be empty';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') {
      if (i === text.length - 1) return 'a glob cannot end in a lone \\ (write \\\\ for a backslash)';
      i++;
    } else if (c === '[' || c === '{') {
      return `"${c}" at offset ${i} is reserved in globs; escape it as \\${c} to match it literally`;
    }
  }
  return undefined;
}

type Token = { kind: 'star' } | { kind: 'one' } | { kind: 'char'; char: string };

function tokens(text: string): Token[] {
  const chars = Array.from(text);
  const out: Token[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] ?? '';
    if (c === '*') {
      if (out.at(-1)?.kind !== 'star') out.push({ kind: 'star' });
    } else if (c === '?') out.push({ kind: 'one' });
    else out.push({ kind: 'char', char: c === '\\' ? (chars[++i] ?? '') : c });
  }
  return out;
}

/**
 * Compiles a glob that globProblem accepted; anchored at both ends. Matched by the two-pointer
 * wildcard walk (back to the last star on a mismatch), linear in pattern times value: a regular
 * expression of many stars backtracks exponentially on a long purl.
 */
export function compileGlob(text: string, options: { ignoreCase?: boolean } = {}): CompiledGlob {
  const fold = (s: string) => (options.ignoreCase ? s.toLowerCase() : s);
  const pattern = tokens(fold(text));
  return {
    test(value: string): boolean {
      const chars = Array.from(fold(value));
      let p = 0;
      let v = 0;
      let star = -1;
      let resume = 0;
      while (v < chars.length) {
        const token = pattern[p];
        if (token?.kind === 'star') {
          star = p++;
          resume = v;
        } else if (token !== undefined && (token.kind === 'one' || token.char === chars[v])) {
          p++;
          v++;
        } else if (star >= 0) {
          p = star + 1;
          v = ++resume;
        } else return false;
      }
      while (pattern[p]?.kind === 'star') p++;
      return p === pattern.length;
    },
  };
}
