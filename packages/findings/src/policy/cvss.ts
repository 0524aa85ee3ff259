// SPDX-License-Identifier: Apache-2.0
// CVSS v2 and v3.0/v3.1 base scores from a vector string, written from FIRST's specifications
// (v2 guide §3.2.1, v3.1 specification §7.1 and Appendix A). The policy reads a source's severity
// from its vector and never re-scores it: temporal and environmental metrics are accepted and
// ignored. A vector that is not well formed gives undefined, so its severity is unknown, not guessed.

type Weights = Record<string, Record<string, number>>;

const V3_BASE: Weights = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  PR: { N: 0.85, L: 0.62, H: 0.27 },
  UI: { N: 0.85, R: 0.62 },
  S: { U: 0, C: 1 },
  C: { H: 0.56, L: 0.22, N: 0 },
  I: { H: 0.56, L: 0.22, N: 0 },
  A: { H: 0.56, L: 0.22, N: 0 },
};
// Privileges Required weighs more when the scope changes (v3.1 §7.4).
const V3_PR_CHANGED: Record<string, number> = { N: 0.85, L: 0.68, H: 0.5 };
const V3_OTHER = ['E', 'RL', 'RC', 'CR', 'IR', 'AR', 'MAV', 'MAC', 'MPR', 'MUI', 'MS', 'MC', 'MI', 'MA'];

const V2_BASE: Weights = {
  AV: { L: 0.395, A: 0.646, N: 1 },
  AC: { H: 0.35, M: 0.61, L: 0.71 },
  Au: { M: 0.45, S: 0.56, N: 0.704 },
  C: { N: 0, P: 0.275, C: 0.66 },
  I: { N: 0, P: 0.275, C: 0.66 },
  A: { N: 0, P: 0.275, C: 0.66 },
};
const V2_OTHER = ['E', 'RL', 'RC', 'CDP', 'TD', 'CR', 'IR', 'AR'];

/** Splits `K:V/K:V` into a map: undefined when a metric repeats, is unknown, or a base metric is missing or invalid. */
function metrics(parts: readonly string[], base: Weights, other: readonly string[]): Map<string, string> | undefined {
  const seen = new Map<string, string>();
  for (const part of parts) {
    const match = /^([A-Za-z]+):([A-Za-z]+)$/.exec(part);
    if (!match) return undefined;
    const [, key = '', value = ''] = match;
    if (seen.has(key) || !(key in base || other.includes(key))) return undefined;
    seen.set(key, value);
  }
  for (const [key, values] of Object.entries(base)) {
    const value = seen.get(key);
    if (value === undefined || !(value in values)) return undefined;
  }
  return seen;
}

/** v3.1 Appendix A: the smallest number of one decimal that is equal to or higher than its input, free of float noise. */
export function roundUp31(value: number): number {
  const integer = Math.round(value * 100000);
  return integer % 10000 === 0 ? integer / 100000 : (Math.floor(integer / 10000) + 1) / 10;
}

/** The v3.0 definition: the ceiling to one decimal. */
export function roundUp30(value: number): number {
  return Math.ceil(value * 10) / 10;
}

/** The base score of a `CVSS:3.0/…` or `CVSS:3.1/…` vector, or undefined when it is not one. */
export function cvss3BaseScore(vector: string): number | undefined {
  const [prefix, ...parts] = vector.trim().split('/');
  if (prefix !== 'CVSS:3.0' && prefix !== 'CVSS:3.1') return undefined;
  const m = metrics(parts, V3_BASE, V3_OTHER);
  if (!m) return undefined;
  const w = (key: string) => V3_BASE[key]?.[m.get(key) ?? ''] ?? 0;
  const changed = m.get('S') === 'C';
  const privileges = changed ? (V3_PR_CHANGED[m.get('PR') ?? ''] ?? 0) : w('PR');
  const iss = 1 - (1 - w('C')) * (1 - w('I')) * (1 - w('A'));
  const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 : 6.42 * iss;
  const exploitability = 8.22 * w('AV') * w('AC') * privileges * w('UI');
  if (impact <= 0) return 0;
  const roundUp = prefix === 'CVSS:3.1' ? roundUp31 : roundUp30;
  return roundUp(Math.min((changed ? 1.08 : 1) * (impact + exploitability), 10));
}

/** The base score of a CVSS v2 vector (`AV:N/AC:L/Au:N/C:P/I:P/A:P`, optionally in parentheses or prefixed `CVSS:2.0/`). */
export function cvss2BaseScore(vector: string): number | undefined {
  let text = vector.trim();
  if (text.startsWith('(') && text.endsWith(')')) text = text.slice(1, -1);
  if (text.startsWith('CVSS:2.0/')) text = text.slice('CVSS:2.0/'.length);
  const m = metrics(text.split('/'), V2_BASE, V2_OTHER);
  if (!m) return undefined;
  const w = (key: string) => V2_BASE[key]?.[m.get(key) ?? ''] ?? 0;
  const impact = 10.41 * (1 - (1 - w('C')) * (1 - w('I')) * (1 - w('A')));
  const exploitability = 20 * w('AV') * w('AC') * w('Au');
  const f = impact === 0 ? 0 : 1.176;
  // `|| 0`: a zero impact times a negative sum is -0, which would print as 0 but compare oddly.
  return Math.round((0.6 * impact + 0.4 * exploitability - 1.5) * f * 10) / 10 || 0;
}
