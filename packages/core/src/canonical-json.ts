// Canonical JSON (RFC 8785 style): sorted keys, no insignificant whitespace, ES number formatting.
// Used wherever bytes are hashed or signed, so the same value always gives the same digest. Written
// as plain loops: exports serialise every record through here, and the array/entries helpers cost
// twice as much per object.

export function canonicalJson(value: unknown): string {
  return serialize(value);
}

function serialize(value: unknown): string {
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
