// SPDX-License-Identifier: Apache-2.0
// CPE values for linksets: CPE 2.3 formatted strings are kept as given (trimmed); CPE 2.2 URIs
// (`cpe:/a:vendor:product:version…`, still used by Red Hat CSAF) are rebound to the 2.3 formatted
// string so both spellings join (NISTIR 7695 §6.1.3 unbind URI, §6.2.2 bind formatted string).

const ATTRIBUTES = 11;

/** Quotes a decoded 2.2 value for the 2.3 formatted string: every non [A-Za-z0-9._-] gets a backslash. */
function bindValue(value: string): string {
  if (value === '') return '*';
  if (value === '-') return '-';
  let out = '';
  for (const ch of value) {
    if (/[A-Za-z0-9._-]/.test(ch)) out += ch;
    else out += `\\${ch}`;
  }
  return out;
}

function decodeUriValue(value: string): string | null {
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}

/** The CPE 2.3 formatted string for a 2.3 or 2.2 input; null when the input is neither. */
export function cpe23(input: string): string | null {
  const text = input.trim();
  if (/^cpe:2\.3:/i.test(text)) return text;
  if (!/^cpe:\/[aho]?(:|$)/i.test(text)) return null;
  const components = text.slice(5).split(':');
  const part = components[0] || '*';
  const values: string[] = [part.toLowerCase()];
  // vendor, product, version, update
  for (let i = 1; i <= 4; i++) {
    const decoded = decodeUriValue(components[i] ?? '');
    if (decoded === null) return null;
    values.push(bindValue(decoded));
  }
  // edition may pack ~edition~sw_edition~target_sw~target_hw~other
  const rawEdition = components[5] ?? '';
  let edition = ['', '', '', '', ''];
  if (rawEdition.startsWith('~')) {
    const packed = rawEdition.slice(1).split('~');
    edition = [0, 1, 2, 3, 4].map((k) => packed[k] ?? '');
  } else {
    edition[0] = rawEdition;
  }
  const language = components[6] ?? '';
  const decodedEdition = edition.map(decodeUriValue);
  const decodedLanguage = decodeUriValue(language);
  if (decodedEdition.some((v) => v === null) || decodedLanguage === null) return null;
  const [ed, swEdition, targetSw, targetHw, other] = decodedEdition as string[];
  values.push(bindValue(ed ?? ''), bindValue(decodedLanguage), bindValue(swEdition ?? ''));
  values.push(bindValue(targetSw ?? ''), bindValue(targetHw ?? ''), bindValue(other ?? ''));
  if (values.length !== ATTRIBUTES) return null;
  return `cpe:2.3:${values.join(':')}`;
}
