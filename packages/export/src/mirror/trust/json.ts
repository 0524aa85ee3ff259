// SPDX-License-Identifier: Apache-2.0
// The JSON layout of every mirror trust file (spec §2.6): sorted keys, two-space indent, trailing
// newline. Written by hand rather than JSON.stringify(sorted, null, 2) because object property order
// puts integer-like keys first, which would break the sort for keys such as "10" and "9".

/** UTF-8 bytes of `value` with sorted keys, indent 2 and a trailing newline; same value, same bytes. */
export function mirrorJsonBytes(value: unknown): Buffer {
  return Buffer.from(`${serialize(value, '')}\n`, 'utf8');
}

function serialize(value: unknown, indent: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('mirror JSON cannot encode non-finite numbers');
      return JSON.stringify(value);
    case 'object': {
      const inner = `${indent}  `;
      if (Array.isArray(value)) {
        if (value.length === 0) return '[]';
        const items = value.map((item) => `${inner}${item === undefined ? 'null' : serialize(item, inner)}`);
        return `[\n${items.join(',\n')}\n${indent}]`;
      }
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
        return serialize((value as { toJSON(): unknown }).toJSON(), indent);
      }
      const record = value as Record<string, unknown>;
      const members = Object.keys(record)
        .sort()
        .filter((key) => record[key] !== undefined && typeof record[key] !== 'function')
        .map((key) => `${inner}${JSON.stringify(key)}: ${serialize(record[key], inner)}`);
      return members.length === 0 ? '{}' : `{\n${members.join(',\n')}\n${indent}}`;
    }
    default:
      throw new TypeError(`mirror JSON cannot encode ${typeof value}`);
  }
}
