// SPDX-License-Identifier: Apache-2.0
// Run selectors (spec §2.2): validated and normalised once, at submission, so the stored selectors
// are absolute (a relative `since: 7d` becomes a timestamp) and a replay selects the same data.

import { durationSeconds, StellaError } from '@stella/core';
import { ExportErrors } from './errors.ts';

export interface Selectors {
  tenant: string;
  since?: string;
  until?: string;
  sources?: string[];
  ecosystems?: string[];
  purls?: string[];
}

const KNOWN = new Set(['tenant', 'since', 'until', 'sources', 'ecosystems', 'purls']);
const MAX_LIST = 1000;

function invalid(message: string, pointer: string): StellaError {
  return new StellaError(ExportErrors.validation, `selectors${pointer}: ${message}`, {
    details: { errors: [{ pointer: `/selectors${pointer}`, message }] },
  });
}

function time(value: unknown, name: string, now: Date): string {
  if (typeof value !== 'string') throw invalid('must be an RFC 3339 time or a duration like 24h or 7d', `/${name}`);
  const seconds = durationSeconds(value);
  if (seconds !== undefined) return new Date(now.getTime() - seconds * 1000).toISOString();
  const parsed = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}(T|$)/.test(value) || Number.isNaN(parsed)) {
    throw invalid(
      `${JSON.stringify(value.slice(0, 64))} is not an RFC 3339 time or a duration like 24h or 7d`,
      `/${name}`,
    );
  }
  return new Date(parsed).toISOString();
}

function list(value: unknown, name: string, pattern: RegExp): string[] {
  const items = typeof value === 'string' ? value.split(',') : value;
  if (!Array.isArray(items) || items.some((v) => typeof v !== 'string')) {
    throw invalid('must be a list of strings (or a comma-separated string)', `/${name}`);
  }
  const cleaned = [...new Set((items as string[]).map((v) => v.trim()).filter(Boolean))].sort();
  if (cleaned.length > MAX_LIST) throw invalid(`at most ${MAX_LIST} values`, `/${name}`);
  const bad = cleaned.find((v) => !pattern.test(v));
  if (bad !== undefined) throw invalid(`${JSON.stringify(bad.slice(0, 80))} is not a valid value`, `/${name}`);
  return cleaned;
}

export function normalizeSelectors(input: Record<string, unknown>, tenant: string, now: Date): Selectors {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw invalid('must be an object', '');
  const unknown = Object.keys(input).filter((k) => !KNOWN.has(k));
  if (unknown.length > 0) {
    throw invalid(
      `unknown selector ${unknown.map((k) => JSON.stringify(k)).join(', ')} (known: ${[...KNOWN].join(', ')})`,
      '',
    );
  }
  if (input.tenant !== undefined && input.tenant !== tenant) {
    // Another tenant's data is never reachable; the answer does not say whether that tenant exists.
    throw invalid(`must be the caller's tenant ${tenant}`, '/tenant');
  }
  const out: Selectors = { tenant };
  if (input.since !== undefined) out.since = time(input.since, 'since', now);
  if (input.until !== undefined) out.until = time(input.until, 'until', now);
  if (out.since && out.until && out.since >= out.until) throw invalid('until must be after since', '/until');
  if (input.sources !== undefined) out.sources = list(input.sources, 'sources', /^[a-z0-9][a-z0-9._-]{0,63}$/);
  if (input.ecosystems !== undefined)
    out.ecosystems = list(input.ecosystems, 'ecosystems', /^[a-z0-9][a-z0-9.+-]{0,31}$/);
  if (input.purls !== undefined) out.purls = list(input.purls, 'purls', /^pkg:[a-z0-9.+-]+\/\S{1,1000}$/);
  return out;
}
