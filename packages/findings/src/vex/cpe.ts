// SPDX-License-Identifier: Apache-2.0
// CPE names as far as VEX applicability needs them: part, vendor, product and version out of a CPE
// 2.3 formatted string or a 2.2 URI, and a match that follows CPE name matching (NISTIR 7696) for
// those four: `*` (ANY) matches every value, `-` (NA, "no value applies") matches only `-` or ANY,
// and `*`/`?` inside a value are wildcards of the source side.

export interface CpeName {
  part: string;
  vendor: string;
  product: string;
  version: string;
}

/** Splits a 2.3 formatted string on the colons that are not escaped. */
function splitFormatted(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) {
      current += ch + text[i + 1];
      i++;
    } else if (ch === ':') {
      out.push(current);
      current = '';
    } else current += ch;
  }
  out.push(current);
  return out;
}

function decodeUri(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** A 2.2 URI value in 2.3 terms: empty is ANY; other values are literal (quoted as 2.3 would). */
function fromUri(value: string | undefined): string {
  if (value === undefined || value === '') return '*';
  if (value === '-') return '-';
  return decodeUri(value).replace(/[^A-Za-z0-9._-]/g, (c) => `\\${c}`);
}

/** The four attributes, lower-cased; undefined when the text is not a CPE. */
export function parseCpe(input: string): CpeName | undefined {
  const text = input.trim();
  if (/^cpe:2\.3:/i.test(text)) {
    const [, , part, vendor, product, version = '*'] = splitFormatted(text);
    if (!part || !vendor || !product) return undefined;
    return lowerAll({ part, vendor, product, version: version || '*' });
  }
  if (/^cpe:\//i.test(text)) {
    const [part, vendor, product, version] = text.slice(5).split(':');
    return lowerAll({
      part: fromUri(part),
      vendor: fromUri(vendor),
      product: fromUri(product),
      version: fromUri(version),
    });
  }
  return undefined;
}

function lowerAll(name: CpeName): CpeName {
  return {
    part: name.part.toLowerCase(),
    vendor: name.vendor.toLowerCase(),
    product: name.product.toLowerCase(),
    version: name.version.toLowerCase(),
  };
}

/** A source value with unescaped `*`/`?` as a regular expression over the target value. */
function wildcardPattern(source: string): RegExp {
  let pattern = '';
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    if (ch === '\\' && i + 1 < source.length) {
      pattern += source[i + 1]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      i++;
    } else if (ch === '*') pattern += '.*';
    else if (ch === '?') pattern += '.';
    else pattern += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${pattern}$`);
}

/** Escapes removed, for comparing a literal target against a pattern. */
function unquote(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}

function attributeMatches(source: string, target: string): boolean {
  if (source === '*' || target === '*') return true;
  if (source === '-' || target === '-') return source === target;
  if (source === target) return true;
  return /(^|[^\\])[*?]/.test(source) && wildcardPattern(source).test(unquote(target));
}

/** Whether the statement's CPE (source) names the component's CPE (target) on part, vendor, product and version. */
export function cpeMatches(source: string, target: string): boolean {
  const a = parseCpe(source);
  const b = parseCpe(target);
  if (a === undefined || b === undefined) return false;
  return (
    attributeMatches(a.part, b.part) &&
    attributeMatches(a.vendor, b.vendor) &&
    attributeMatches(a.product, b.product) &&
    attributeMatches(a.version, b.version)
  );
}
