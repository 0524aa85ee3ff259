// SPDX-License-Identifier: Apache-2.0
// The scan core, pure: an SBOM's components against the advisories that name their packages. Each
// OSV document is read once and asked, per component, whether its version is affected (the OSV
// matcher); affected answers for documents that alias each other become one finding listing every
// source. What cannot be decided (no purl, no version, unknown ecosystem, an unparseable version, a
// GIT-only range, a format the matcher does not read yet) is reported, never guessed.
import { type JsonLimits, parseJsonWithLimits } from '@stella/core';
import { type MatchedRange, matchOsv } from '../match/osv.ts';
import type { SbomComponent } from '../sbom/model.ts';
import { versionComparator } from '../versions/index.ts';
import type { AdvisoryRecord } from './advisories.ts';
import { aliasGroups } from './vulnerabilities.ts';

export interface FindingSource {
  recordId: string;
  vendor: string;
  upstreamId: string;
  contentHash: string;
  /** Severity as this source reports it (OSV `severity[]`, GHSA database_specific.severity), never re-scored. */
  severity: { type: string; score: string }[];
  range: MatchedRange;
  /** Listed in CISA's Known Exploited Vulnerabilities catalogue, as this source says (CVE 5 CISA ADP, NVD cisaExploitAdd). */
  kev?: { dateAdded?: string };
  /** An EPSS probability (0–1) this source carries, with its percentile when given. */
  epss?: { score: number; percentile?: number };
}

export interface Finding {
  component: { ref: string; purl: string; name: string; version: string; ecosystem: string };
  vulnerabilityId: string;
  aliases: string[];
  /** Every fixed version the sources give, in the ecosystem's order. */
  fixedVersions: string[];
  sources: FindingSource[];
}

export interface Undecided {
  ref: string;
  purl?: string;
  advisory?: string;
  reason: 'no-purl' | 'no-version' | 'ecosystem-unknown' | 'version-unparseable' | 'range-unsupported';
  detail: string;
}

export interface ScanReport {
  components: number;
  findings: Finding[];
  undecided: Undecided[];
  /** Advisories naming a component in a format the matcher does not read yet, by format. */
  notEvaluated: Record<string, number>;
}

type Lookup = SbomComponent & { purl: string; ecosystem: string; version: string };

function lookupable(c: SbomComponent, undecided: Undecided[]): c is Lookup {
  if (c.purl === undefined) undecided.push({ ref: c.ref, reason: 'no-purl', detail: `${c.name} has no purl` });
  else if (c.ecosystem === undefined)
    undecided.push({ ref: c.ref, purl: c.purl, reason: 'ecosystem-unknown', detail: `${c.purl}: no OSV ecosystem` });
  else if (c.version === undefined)
    undecided.push({ ref: c.ref, purl: c.purl, reason: 'no-version', detail: `${c.purl} has no version` });
  else return true;
  return false;
}

function severityOf(doc: unknown): FindingSource['severity'] {
  if (typeof doc !== 'object' || doc === null) return [];
  const out: FindingSource['severity'] = [];
  const list: unknown = Reflect.get(doc, 'severity');
  for (const s of Array.isArray(list) ? list : []) {
    const type: unknown = s?.type;
    const score: unknown = s?.score;
    if (typeof type === 'string' && typeof score === 'string') out.push({ type, score });
  }
  const specific: unknown = Reflect.get(doc, 'database_specific');
  const ghsa: unknown =
    typeof specific === 'object' && specific !== null ? Reflect.get(specific, 'severity') : undefined;
  if (typeof ghsa === 'string') out.push({ type: 'GHSA', score: ghsa });
  return out;
}

function sortedVersions(ecosystem: string, versions: Iterable<string>): string[] {
  const unique = [...new Set(versions)];
  try {
    return versionComparator(ecosystem).sort(unique);
  } catch {
    return unique.sort();
  }
}

interface Hit {
  component: Lookup;
  advisory: AdvisoryRecord;
  source: FindingSource;
  fixedVersions: string[];
}

/** Asks each OSV document about each component whose package it names. */
function matchAll(
  components: readonly Lookup[],
  advisories: readonly AdvisoryRecord[],
  keyOf: (purl: string) => string | undefined,
  limits: JsonLimits,
  report: ScanReport,
): Hit[] {
  const byKey = new Map<string, Lookup[]>();
  for (const c of components) {
    const key = keyOf(c.purl);
    if (key === undefined) continue;
    const list = byKey.get(key);
    if (list) list.push(c);
    else byKey.set(key, [c]);
  }
  const hits: Hit[] = [];
  for (const advisory of advisories) {
    const named = advisory.packages.flatMap((key) => byKey.get(key) ?? []);
    if (named.length === 0) continue;
    if (advisory.format !== 'OSV') {
      report.notEvaluated[advisory.format] = (report.notEvaluated[advisory.format] ?? 0) + 1;
      continue;
    }
    const doc = parseJsonWithLimits(advisory.raw, limits);
    const severity = severityOf(doc);
    for (const component of named) {
      const outcome = matchOsv(doc, component);
      if (outcome.kind === 'affected') {
        const { recordId, vendor, upstreamId, contentHash } = advisory;
        hits.push({
          component,
          advisory,
          source: { recordId, vendor, upstreamId, contentHash, severity, range: outcome.range },
          fixedVersions: outcome.fixedVersions,
        });
      } else if (outcome.kind === 'unknown') {
        report.undecided.push({
          ref: component.ref,
          purl: component.purl,
          advisory: advisory.upstreamId,
          reason: outcome.reason,
          detail: outcome.detail,
        });
      }
    }
  }
  return hits;
}

/** One finding per component and vulnerability (alias group), its sources in record-id order. */
function groupHits(hits: readonly Hit[], advisories: readonly AdvisoryRecord[]): Finding[] {
  const groups = aliasGroups(advisories);
  const findings = new Map<string, Finding>();
  for (const hit of hits) {
    const group = groups.get(hit.advisory.upstreamId) ?? { id: hit.advisory.upstreamId, aliases: [] };
    const key = `${hit.component.ref}\u0000${group.id}`;
    let finding = findings.get(key);
    if (!finding) {
      const { ref, purl, name, version, ecosystem } = hit.component;
      finding = {
        component: { ref, purl, name, version, ecosystem },
        vulnerabilityId: group.id,
        aliases: group.aliases,
        fixedVersions: [],
        sources: [],
      };
      findings.set(key, finding);
    }
    finding.sources.push(hit.source);
    finding.fixedVersions = sortedVersions(hit.component.ecosystem, [...finding.fixedVersions, ...hit.fixedVersions]);
  }
  const ordered = [...findings.values()];
  for (const f of ordered) f.sources.sort((a, b) => (a.recordId < b.recordId ? -1 : a.recordId > b.recordId ? 1 : 0));
  return ordered.sort(
    (a, b) =>
      (a.component.purl < b.component.purl ? -1 : a.component.purl > b.component.purl ? 1 : 0) ||
      (a.vulnerabilityId < b.vulnerabilityId ? -1 : a.vulnerabilityId > b.vulnerabilityId ? 1 : 0),
  );
}

export function scanComponents(
  components: readonly SbomComponent[],
  advisories: readonly AdvisoryRecord[],
  keyOf: (purl: string) => string | undefined,
  limits: JsonLimits,
): ScanReport {
  const report: ScanReport = { components: components.length, findings: [], undecided: [], notEvaluated: {} };
  const lookups = components.filter((c): c is Lookup => lookupable(c, report.undecided));
  report.findings = groupHits(matchAll(lookups, advisories, keyOf, limits, report), advisories);
  return report;
}
