// Input caps at the HTTP door, from the `limits` config section: every application/json body is checked
// (depth, members, string length, storable text) before it is parsed, and every path parameter and query
// value for NUL, unpaired surrogates and length, before any route or the database sees them. Each breach
// is a coded 400; without these, PostgreSQL's refusal of the same text surfaced as a 500 (or, for deep
// jsonb in PGlite, as a hung event loop).
import { Errors, type JsonLimits, parseJsonWithLimits, StellaError } from '@stella/core';

export interface InputLimits {
  /** Deepest nesting of a JSON body (limits.jsonDepth). */
  jsonDepth: number;
  /** Most members of one JSON object (limits.jsonKeys). */
  jsonKeys: number;
  /** Longest JSON string, in UTF-16 code units (limits.jsonStringLength). */
  jsonStringLength: number;
  /** Longest path parameter or query value (limits.identifierLength). */
  identifierLength: number;
}

/** The config schema's defaults, for callers (tests, tools) that build an app without a config. */
export const DEFAULT_INPUT_LIMITS: InputLimits = {
  jsonDepth: 128,
  jsonKeys: 50_000,
  jsonStringLength: 4 * 1024 * 1024,
  identifierLength: 1024,
};

export function jsonLimitsOf(limits: InputLimits): JsonLimits {
  return { maxDepth: limits.jsonDepth, maxKeys: limits.jsonKeys, maxStringLength: limits.jsonStringLength };
}

/**
 * A paging cursor carries a record id and a time, base64url-encoded (4/3 of the JSON), so it may be
 * longer than the ids it points at; anything longer than this cannot be a cursor this server issued.
 */
export function cursorLengthFor(identifierLength: number): number {
  return 2 * identifierLength + 128;
}

// Keys only reach the prototype walk when the text could spell them, plainly or through \u00XX escapes.
const MAYBE_PROTOTYPE_KEY = /__proto__|constructor|\\u00/;

/**
 * A JSON request body under the caps. `__proto__` keys (and `constructor.prototype`) are refused, as
 * Fastify's own parser does: JSON.parse keeps them as plain own properties, but a later Object.assign or
 * merge could turn them into prototype pollution.
 */
export function parseJsonBody(text: string, limits: JsonLimits): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') {
    throw new StellaError(Errors.malformedBody, 'the JSON body is empty: send a JSON value or no Content-Type');
  }
  const value = parseJsonWithLimits(body, limits);
  if (MAYBE_PROTOTYPE_KEY.test(body)) assertNoPrototypeKeys(value);
  return value;
}

/** Iterative (the value may be as deep as the depth cap): throws on the first prototype-shaped key. */
function assertNoPrototypeKeys(value: unknown): void {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (next === null || typeof next !== 'object') continue;
    if (Array.isArray(next)) {
      for (const item of next) if (item !== null && typeof item === 'object') pending.push(item);
      continue;
    }
    const record = next as Record<string, unknown>;
    const constructorValue = Object.hasOwn(record, 'constructor') ? record.constructor : undefined;
    if (
      Object.hasOwn(record, '__proto__') ||
      (constructorValue !== null &&
        typeof constructorValue === 'object' &&
        Object.hasOwn(constructorValue, 'prototype'))
    ) {
      throw new StellaError(
        Errors.malformedBody,
        'the JSON body holds a "__proto__" (or "constructor.prototype") key; it is refused because it could pollute object prototypes',
      );
    }
    for (const child of Object.values(record)) if (child !== null && typeof child === 'object') pending.push(child);
  }
}

// A high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const NUL = String.fromCharCode(0);

/** Where text PostgreSQL cannot store begins (a NUL or an unpaired surrogate), if anywhere. */
export function firstUnstorable(text: string): { index: number; nul: boolean } | undefined {
  const nul = text.indexOf(NUL);
  const lone = text.isWellFormed() ? -1 : (LONE_SURROGATE.exec(text)?.index ?? -1);
  if (nul < 0 && lone < 0) return undefined;
  if (lone < 0 || (nul >= 0 && nul < lone)) return { index: nul, nul: true };
  return { index: lone, nul: false };
}

/** Text safe to quote in a message and a log line. */
function printable(text: string): string {
  return text.isWellFormed() && !text.includes(NUL) ? text : text.toWellFormed().replaceAll(NUL, '\ufffd');
}

/** Where a value came from, for messages; the value itself is never echoed (it may be huge or hostile). */
function label(kind: string, name: string): string {
  const shown = name.length > 64 ? `${name.slice(0, 64)}…` : name;
  return `${kind} "${printable(shown)}"`;
}

/** Throws ERR_INVALID_TEXT or ERR_LIMIT_IDENTIFIER_LENGTH for a path or query value that cannot be used. */
export function checkRequestText(kind: string, name: string, value: string, maxLength: number): void {
  if (value.length > maxLength) {
    throw new StellaError(
      Errors.identifierTooLong,
      `${label(kind, name)} is ${value.length} characters long; the limit is ${maxLength} (limits.identifierLength)`,
      { details: { limit: maxLength } },
    );
  }
  const bad = firstUnstorable(value);
  if (bad) {
    throw new StellaError(
      Errors.invalidText,
      `${label(kind, name)} holds ${bad.nul ? 'a NUL character (%00)' : 'an unpaired UTF-16 surrogate'} at character ${bad.index}`,
      { details: { offset: bad.index } },
    );
  }
}

/** Checks every path parameter and query name and value of a request. */
export function checkRequestInput(params: unknown, query: unknown, limits: InputLimits): void {
  if (params && typeof params === 'object') {
    for (const [name, value] of Object.entries(params)) {
      if (typeof value === 'string') checkRequestText('path parameter', name, value, limits.identifierLength);
    }
  }
  if (query && typeof query === 'object') {
    const cursorLength = cursorLengthFor(limits.identifierLength);
    for (const [name, value] of Object.entries(query)) {
      checkRequestText('query parameter name', name, name, limits.identifierLength);
      const max = name === 'cursor' ? cursorLength : limits.identifierLength;
      for (const item of Array.isArray(value) ? value : [value]) {
        if (typeof item === 'string') checkRequestText('query parameter', name, item, max);
      }
    }
  }
}
