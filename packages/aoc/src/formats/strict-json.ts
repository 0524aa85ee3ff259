// SPDX-License-Identifier: Apache-2.0
// Strict reading of upstream bytes: UTF-8 only and no duplicate object keys. JSON.parse keeps the
// last of two equal keys silently, so a document could say two things while we store one; such
// bytes are refused here, before anything is hashed into the linkset. The native parser does the
// parsing (fast); a second pass over the already-valid text only looks at object keys. Before either,
// the text is held to the JSON caps (depth, members, string length, NUL, lone surrogates): every later
// step, the database's jsonb parser included, then sees only bounded, storable JSON.
import { checkJsonLimits, DEFAULT_JSON_LIMITS, type JsonLimits, StellaError } from '@stella/core';
import { AocErrors } from '../errors.ts';
import { pointerOf } from './linkset.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

function malformed(message: string, cause?: unknown): StellaError {
  return new StellaError(AocErrors.malformedDocument, message, cause === undefined ? {} : { cause });
}

/**
 * Decodes UTF-8 (a leading BOM is skipped), checks the JSON caps (each breach its own ERR_LIMIT_* /
 * ERR_INVALID_TEXT code), parses JSON and refuses duplicate keys.
 */
export function parseStrictJson(bytes: Uint8Array, limits: JsonLimits = DEFAULT_JSON_LIMITS): unknown {
  let text: string;
  try {
    // The decoder drops a leading U+FEFF by default (ignoreBOM: false), which is what we want.
    text = utf8.decode(bytes);
  } catch (error) {
    throw malformed(`invalid UTF-8 at byte ${firstInvalidUtf8Byte(bytes)}`, error);
  }
  checkJsonLimits(text, limits);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw malformed(describeSyntaxError(text, error), error);
  }
  // Fast path: the text names as many keys as the parsed tree holds exactly when no object
  // repeated a key. Only on a mismatch does the slower walk run to say where.
  if (value !== null && typeof value === 'object' && countKeyTokens(text) !== countKeys(value)) {
    assertNoDuplicateKeys(text);
  }
  return value;
}

/** Object keys in valid JSON text: the strings followed by ':'. Strings are found with indexOf. */
function countKeyTokens(text: string): number {
  let count = 0;
  let start = text.indexOf('"');
  while (start !== -1) {
    const end = endOfString(text, start);
    let next = end + 1;
    let c = text.charCodeAt(next);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
      next += 1;
      c = text.charCodeAt(next);
    }
    if (c === COLON) count += 1;
    start = text.indexOf('"', next);
  }
  return count;
}

function countKeys(value: unknown): number {
  if (Array.isArray(value)) {
    let count = 0;
    for (const item of value) if (item !== null && typeof item === 'object') count += countKeys(item);
    return count;
  }
  let count = 0;
  for (const key in value as Record<string, unknown>) {
    count += 1;
    const item = (value as Record<string, unknown>)[key];
    if (item !== null && typeof item === 'object') count += countKeys(item);
  }
  return count;
}

function describeSyntaxError(text: string, error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  // V8 gives a position for some errors only ("Unexpected token" has none), so the position comes
  // from our own small validator; V8's wording is kept as the reason, without its text excerpt.
  const position = firstSyntaxErrorAt(text);
  const { line, column } = lineAndColumn(text, position);
  const reason = raw.replace(/,\s*"[\s\S]*" is not valid JSON$/, '').replace(/ in JSON at position \d+.*$/, '');
  return `malformed JSON at line ${line} column ${column}: ${reason}`;
}

/**
 * A JSON validator that only finds where the text stops being JSON (the error path only): each method
 * consumes one production from `i` and throws the offset where it fails.
 */
class SyntaxScan {
  i = 0;
  private readonly text: string;
  constructor(text: string) {
    this.text = text;
  }

  ws(): void {
    while (this.i < this.text.length && ' \t\n\r'.includes(this.text.charAt(this.i))) this.i += 1;
  }

  fail(): never {
    throw this.i;
  }

  expect(ch: string): void {
    if (this.text.charAt(this.i) !== ch) this.fail();
    this.i += 1;
  }

  string(): void {
    const { text } = this;
    this.expect('"');
    for (;;) {
      if (this.i >= text.length) this.fail();
      const c = text.charCodeAt(this.i);
      if (c === QUOTE) {
        this.i += 1;
        return;
      }
      if (c < 0x20) this.fail();
      if (c === BACKSLASH) {
        this.i += 1;
        const e = text.charAt(this.i);
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(this.i + 1, this.i + 5))) this.fail();
          this.i += 4;
        } else if (!'"\\/bfnrt'.includes(e) || e === '') this.fail();
      }
      this.i += 1;
    }
  }

  /** `{` or `[` members up to the closing bracket; `member` reads one. */
  members(close: string, member: () => void): void {
    this.i += 1;
    this.ws();
    if (this.text.charAt(this.i) === close) {
      this.i += 1;
      return;
    }
    for (;;) {
      member();
      this.ws();
      if (this.text.charAt(this.i) !== ',') break;
      this.i += 1;
    }
    this.expect(close);
  }

  value(): void {
    this.ws();
    const c = this.text.charAt(this.i);
    if (c === '{') {
      this.members('}', () => {
        this.ws();
        this.string();
        this.ws();
        this.expect(':');
        this.value();
      });
      return;
    }
    if (c === '[') {
      this.members(']', () => this.value());
      return;
    }
    if (c === '"') {
      this.string();
      return;
    }
    for (const literal of ['true', 'false', 'null']) {
      if (this.text.startsWith(literal, this.i)) {
        this.i += literal.length;
        return;
      }
    }
    const number = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.text.slice(this.i, this.i + 400));
    if (number === null) this.fail();
    this.i += number?.[0].length ?? 0;
  }
}

/** Offset of the first character where `text` stops being JSON (the error path only). */
function firstSyntaxErrorAt(text: string): number {
  const scan = new SyntaxScan(text);
  try {
    scan.value();
    scan.ws();
    if (scan.i < text.length) scan.fail();
  } catch (at) {
    if (typeof at === 'number') return at;
    throw at;
  }
  return text.length;
}

function lineAndColumn(text: string, position: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  let next = text.indexOf('\n');
  while (next !== -1 && next < position) {
    line += 1;
    lineStart = next + 1;
    next = text.indexOf('\n', lineStart);
  }
  return { line, column: position - lineStart + 1 };
}

/** Byte offset of the first byte that does not start or continue a well-formed UTF-8 sequence. */
function firstInvalidUtf8Byte(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    if (b < 0x80) {
      i += 1;
      continue;
    }
    let need: number;
    let min: number;
    let cp: number;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
      cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
      cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
      cp = b & 0x07;
    } else {
      return i;
    }
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i + k < bytes.length ? i + k : i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return bytes.length;
}

interface Frame {
  /** Keys seen so far in this object; null for arrays. */
  keys: Set<string> | null;
  /** Array index, or the last key of an object, for the pointer of a duplicate. */
  index: number;
  key: string;
}

/**
 * Walks text that JSON.parse has already accepted, so only structure has to be tracked: strings
 * are skipped with indexOf, and only keys are materialised (decoded only when they hold escapes).
 */
function assertNoDuplicateKeys(text: string): void {
  const stack: Frame[] = [];
  let top: Frame | undefined;
  let expectKey = false;
  const length = text.length;
  let i = 0;
  while (i < length) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = endOfString(text, i);
      if (expectKey && top?.keys) {
        const rawKey = text.slice(i + 1, end);
        const key = rawKey.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : rawKey;
        if (top.keys.has(key)) {
          top.key = key;
          throw malformed(`duplicate key "${key}" at ${pointerOf(stack.map(segmentOf))}`);
        }
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = end + 1;
      continue;
    }
    if (c === OPEN_BRACE) {
      top = { keys: new Set(), index: 0, key: '' };
      stack.push(top);
      expectKey = true;
    } else if (c === OPEN_BRACKET) {
      top = { keys: null, index: 0, key: '' };
      stack.push(top);
      expectKey = false;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      stack.pop();
      top = stack[stack.length - 1];
      expectKey = false;
    } else if (c === COMMA) {
      if (top) {
        if (top.keys) expectKey = true;
        else top.index += 1;
      }
    } else if (c === COLON) {
      expectKey = false;
    }
    i += 1;
  }
}

function segmentOf(frame: Frame): string | number {
  return frame.keys ? frame.key : frame.index;
}

/** Index of the closing quote of the string opening at `start`. */
function endOfString(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  while (end !== -1) {
    let backslashes = 0;
    let k = end - 1;
    while (text.charCodeAt(k) === BACKSLASH) {
      backslashes += 1;
      k -= 1;
    }
    if (backslashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
  return text.length;
}
