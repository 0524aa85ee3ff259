// SPDX-License-Identifier: Apache-2.0
// A finding's severity as its sources report it, read and never re-scored: OSV CVSS vectors (v2, v3.x)
// are scored by their base formula, GHSA and vendor words are mapped to a level. CVSS v4 vectors are
// not scored (no calculator stella trusts yet): a source with only a v4 vector has an unknown severity.
import type { FindingSource } from '../scan/scan.ts';
import { cvss2BaseScore, cvss3BaseScore } from './cvss.ts';

export const SEVERITY_LEVELS = ['none', 'low', 'medium', 'high', 'critical'] as const;
export type KnownSeverity = (typeof SEVERITY_LEVELS)[number];
export type SeverityLevel = KnownSeverity | 'unknown';

/** The level's rank (none 0 … critical 4); unknown ranks below none, so it never meets `atLeast`. */
export function severityRank(level: SeverityLevel): number {
  return level === 'unknown' ? -1 : SEVERITY_LEVELS.indexOf(level);
}

/** CVSS v3 qualitative rating (v3.1 §5): 0 none, 0.1–3.9 low, 4.0–6.9 medium, 7.0–8.9 high, 9.0–10 critical. */
export function cvss3Level(score: number): KnownSeverity {
  if (score === 0) return 'none';
  if (score < 4) return 'low';
  if (score < 7) return 'medium';
  return score < 9 ? 'high' : 'critical';
}

/** CVSS v2 has no critical: NVD's ranges are low below 4.0, medium below 7.0, high above; 0.0 (no impact) is none. */
export function cvss2Level(score: number): KnownSeverity {
  if (score === 0) return 'none';
  if (score < 4) return 'low';
  return score < 7 ? 'medium' : 'high';
}

// GHSA's four words and the vendor words (Red Hat Low/Moderate/Important/Critical, Ubuntu, Debian, SUSE),
// compared case-insensitively.
const WORDS: Record<string, KnownSeverity> = {
  none: 'none',
  negligible: 'low',
  unimportant: 'low',
  low: 'low',
  moderate: 'medium',
  medium: 'medium',
  important: 'high',
  high: 'high',
  critical: 'critical',
};

/** The level one severity entry gives, or unknown when it cannot be read. */
export function entryLevel(entry: { type: string; score: string }): SeverityLevel {
  const type = entry.type.toUpperCase();
  if (type === 'CVSS_V3') {
    const score = cvss3BaseScore(entry.score);
    return score === undefined ? 'unknown' : cvss3Level(score);
  }
  if (type === 'CVSS_V2') {
    const score = cvss2BaseScore(entry.score);
    return score === undefined ? 'unknown' : cvss2Level(score);
  }
  if (type === 'GHSA' || type === 'VENDOR') return WORDS[entry.score.trim().toLowerCase()] ?? 'unknown';
  return 'unknown';
}

export function highest(levels: Iterable<SeverityLevel>): SeverityLevel {
  let best: SeverityLevel = 'unknown';
  for (const level of levels) if (severityRank(level) > severityRank(best)) best = level;
  return best;
}

/** One source's level: the highest its readable entries give (a v3 vector and a GHSA word may both be there). */
export function sourceLevel(source: Pick<FindingSource, 'severity'>): SeverityLevel {
  return highest(source.severity.map(entryLevel));
}

export type SeveritySourceSelector = 'any' | 'all' | (string & {});

/**
 * The level a condition compares: `any` the highest over sources, `all` the lowest over the sources
 * that give one (so every one of them is at least that), a vendor name the highest of that vendor's
 * sources. Sources without a readable severity are skipped; none left is unknown.
 */
export function findingLevel(
  sources: readonly Pick<FindingSource, 'severity' | 'vendor'>[],
  selector: SeveritySourceSelector = 'any',
): SeverityLevel {
  if (selector === 'any') return highest(sources.map(sourceLevel));
  if (selector !== 'all') return highest(sources.filter((s) => s.vendor === selector).map(sourceLevel));
  let lowest: SeverityLevel = 'unknown';
  for (const level of sources.map(sourceLevel)) {
    if (level === 'unknown') continue;
    if (lowest === 'unknown' || severityRank(level) < severityRank(lowest)) lowest = level;
  }
  return lowest;
}
