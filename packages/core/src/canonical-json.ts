// Canonical JSON (RFC 8785 style): sorted keys, no insignificant whitespace, ES number formatting.
// Used wherever bytes are hashed or signed, so the same value always gives the same digest.
//
// Two paths, one result. The fast one hands JSON.stringify a value whose objects already list their
// keys in canonical order (the same objects where they do, sorted copies where they do not): V8's
// serialiser is native and writes one flat string. The reference one (`serialize`) builds the text
// by concatenation; its result is a rope of many small pieces that costs as much again to flatten
// when it is hashed or written (an export line took ~50 µs that way, ~13 µs the fast way). The fast
// path gives up on an object with an array-index key ("0", "17"): V8 lists those first, in numeric
// order, whatever the insertion order, so only the reference path can write them in code-unit order.

/** What the fast path cannot write: an object with an array-index key. */
const SLOW: unique symbol = Symbol('slow');

export function canonicalJson(value: unknown): string {
  const plain = plainOf(value);
  return plain === SLOW ? serialize(value) : JSON.stringify(plain);
}

/** `value` itself when JSON.stringify already writes it canonically, else a copy that it does, or SLOW. */
function plainOf(value: unknown): unknown {
  if (value === null) return null;
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON cannot encode non-finite numbers');
      return value;
    case 'bigint':
      throw new TypeError('canonical JSON cannot encode bigint');
    case 'object':
      return Array.isArray(value) ? plainArray(value) : plainObject(value as Record<string, unknown>);
    default:
      throw new TypeError(`canonical JSON cannot encode ${typeof value}`);
  }
}

function plainArray(array: readonly unknown[]): unknown {
  // JSON.stringify would call an array's own toJSON; the reference path ignores it.
  if ((array as { toJSON?: unknown }).toJSON !== undefined) return SLOW;
  let copy: unknown[] | undefined;
  for (let i = 0; i < array.length; i++) {
    const item = array[i];
    // An undefined item (or a hole) is null on both paths; a function or symbol throws in plainOf.
    const plain = item === undefined ? item : plainOf(item);
    if (plain === SLOW) return SLOW;
    if (plain !== item && copy === undefined) copy = array.slice(0, i);
    if (copy !== undefined) copy.push(plain);
  }
  return copy ?? array;
}

function plainObject(record: Record<string, unknown>): unknown {
  if (typeof (record as { toJSON?: unknown }).toJSON === 'function') {
    return plainOf((record as { toJSON(): unknown }).toJSON());
  }
  const keys = Object.keys(record);
  let sorted = true;
  let changed = false;
  const plains: unknown[] = new Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const first = key.charCodeAt(0);
    if (first >= 48 && first <= 57 && ARRAY_INDEX.test(key)) return SLOW;
    if (i > 0 && keys[i - 1]! > key) sorted = false;
    const item = record[key];
    // Dropped on both paths (JSON.stringify omits them from objects too).
    if (item === undefined || typeof item === 'function') {
      plains[i] = undefined;
      continue;
    }
    const plain = plainOf(item);
    if (plain === SLOW) return SLOW;
    if (plain !== item) changed = true;
    plains[i] = plain;
  }
  if (sorted && !changed) return record;
  const order = keys.map((_, i) => i);
  if (!sorted) order.sort((a, b) => (keys[a]! < keys[b]! ? -1 : 1));
  // No prototype, so a key named "__proto__" is an own property like any other.
  const copy: Record<string, unknown> = Object.create(null);
  for (const i of order) if (plains[i] !== undefined) copy[keys[i]!] = plains[i];
  return copy;
}

const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;

/** The reference serialiser: the definition the fast path must match (exported for its tests). */
export function serialize(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON cannot encode non-finite numbers');
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'bigint':
      throw new TypeError('canonical JSON cannot encode bigint');
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          const item = value[i];
          out += item === undefined ? 'null' : serialize(item);
        }
        return `${out}]`;
      }
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
        return serialize((value as { toJSON(): unknown }).toJSON());
      }
      const record = value as Record<string, unknown>;
      // The default sort compares UTF-16 code units, the order RFC 8785 prescribes.
      const keys = Object.keys(record).sort();
      let out = '{';
      let first = true;
      for (const key of keys) {
        const item = record[key];
        if (item === undefined || typeof item === 'function') continue;
        out += `${first ? '' : ','}${JSON.stringify(key)}:${serialize(item)}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot encode ${typeof value}`);
  }
}
