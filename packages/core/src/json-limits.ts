// Checks JSON text against caps before anything recursive sees it: nesting depth, string length, keys per
// object, and text PostgreSQL cannot store (NUL, lone UTF-16 surrogates). One pass, no recursion, so a
// hostile document costs time linear in its size and cannot exhaust the stack of JSON.parse, a guard
// walking the value, or the database's jsonb parser. The text is not otherwise validated: JSON.parse does
// that afterwards.
import { Errors, StellaError } from './errors.ts';

export interface JsonLimits {
  /** Deepest nesting of objects and arrays; 1 = a flat object. */
  maxDepth: number;
  /** Longest string (key or value), in UTF-16 code units of the decoded text. */
  maxStringLength: number;
  /** Most members of one object. */
  maxKeys: number;
}

/** Generous for every upstream format stella reads (CSAF product trees nest about 10 levels). */
export const DEFAULT_JSON_LIMITS: JsonLimits = { maxDepth: 128, maxStringLength: 4 * 1024 * 1024, maxKeys: 50_000 };

const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/** Throws a coded StellaError (400) naming the first cap the text breaks and where; returns otherwise. */
export function checkJsonLimits(text: string, limits: JsonLimits = DEFAULT_JSON_LIMITS): void {
  // Per open container: -1 for an array, else the member count of the object so far.
  const members: number[] = [];
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = scanString(text, i, limits);
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      members.push(c === OPEN_OBJECT ? 0 : -1);
      if (members.length > limits.maxDepth) {
        throw new StellaError(
          Errors.jsonTooDeep,
          `JSON nests deeper than ${limits.maxDepth} levels (at character ${i})`,
          { details: { limit: limits.maxDepth, offset: i } },
        );
      }
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      members.pop();
    } else if (c === COLON && members.length > 0 && members[members.length - 1]! >= 0) {
      const count = members[members.length - 1]! + 1;
      members[members.length - 1] = count;
      if (count > limits.maxKeys) {
        throw new StellaError(Errors.jsonTooManyKeys, `a JSON object has more than ${limits.maxKeys} members`, {
          details: { limit: limits.maxKeys, offset: i },
        });
      }
    }
  }
}

/** Scans the string starting at the quote `start`; returns the index of its closing quote (or the end). */
function scanString(text: string, start: number, limits: JsonLimits): number {
  const n = text.length;
  let length = 0;
  // A high surrogate (raw or escaped) waits for its low half as the very next code unit.
  let pendingHigh = false;
  const unpaired = (offset: number): never => {
    throw new StellaError(
      Errors.invalidText,
      `JSON string at character ${start} holds an unpaired UTF-16 surrogate (character ${offset}): not valid Unicode`,
      { details: { offset } },
    );
  };
  for (let i = start + 1; i < n; i++) {
    let c = text.charCodeAt(i);
    if (c === QUOTE) {
      if (pendingHigh) unpaired(i);
      return i;
    }
    if (c === BACKSLASH) {
      const kind = text.charCodeAt(i + 1);
      if (kind === 0x75 /* u */) {
        c = Number.parseInt(text.slice(i + 2, i + 6), 16);
        if (Number.isNaN(c)) return i; // malformed escape: JSON.parse reports it
        if (c === 0) {
          throw new StellaError(
            Errors.invalidText,
            `JSON string at character ${start} holds \\u0000 (NUL), which cannot be stored`,
            { details: { offset: i } },
          );
        }
        i += 5;
      } else {
        i += 1;
        c = 0x41; // any ordinary character: the escape stands for one code unit
      }
    }
    if (pendingHigh && !isLowSurrogate(c)) unpaired(i);
    if (!pendingHigh && isLowSurrogate(c)) unpaired(i);
    pendingHigh = isHighSurrogate(c);
    length++;
    if (length > limits.maxStringLength) {
      throw new StellaError(
        Errors.jsonStringTooLong,
        `a JSON string (from character ${start}) is longer than ${limits.maxStringLength} characters`,
        { details: { limit: limits.maxStringLength, offset: start } },
      );
    }
  }
  return n;
}

/** JSON.parse after checkJsonLimits: a malformed text is ERR_MALFORMED_BODY, a breached cap its own code. */
export function parseJsonWithLimits(text: string, limits: JsonLimits = DEFAULT_JSON_LIMITS): unknown {
  checkJsonLimits(text, limits);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new StellaError(Errors.malformedBody, `malformed JSON: ${(error as Error).message}`, { cause: error });
  }
}
