// SPDX-License-Identifier: Apache-2.0
// The scan core, pure: an SBOM's components against the advisories that name their packages. Each
// OSV document is read once and asked, per component, whether its version is affected (the OSV
// matcher); affected answers for documents that alias each other become one finding listing every
// source. OSV, CSAF, CVE 5 and NVD documents each have a matcher (match/*.ts), dispatched by format.
// What cannot be decided (no purl, no version, unknown ecosystem, an unparseable version, a GIT-only
// range, a format no matcher reads, an NVD record for components without a CPE) is reported, never guessed.
import { type JsonLimits, parseJsonWithLimits } from '@stella/core';
import { csafFacts, matchCsaf } from '../match/csaf.ts';
import { cve5Facts, matchCve5 } from '../match/cve5.ts';
import { matchNvd, nvdFacts } from '../match/nvd.ts';
import { type MatchedRange, type MatchOutcome, matchOsv } from '../match/osv.ts';
import type { UnknownReason } from '../match/ranges.ts';
import type { ComponentIdentity, SourceFacts } from '../match/shared.ts';
import type { SbomComponent } from '../sbom/model.ts';
import { versionComparator } from '../versions/index.ts';
import type { AdvisoryRecord } from './advisories.ts';
import { aliasGroups } from './vulnerabilities.ts';

export interface FindingSource {
  recordId: string;
  vendor: string;
  upstreamId: string;
  contentHash: string;
  /**
   * Severity as this source reports it, never re-scored: OSV `severity[]` and GHSA database_specific.severity,
   * CSAF scores (CVSS vectors) and aggregate_severity, CVE 5 and NVD CVSS vectors.
   */
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
  reason: 'no-purl' | 'no-version' | UnknownReason;
  detail: string;
}

export interface ScanReport {
  components: number;
  findings: Finding[];
  undecided: Undecided[];
  /** Advisories naming a component in a format no matcher reads (or NVD, for components without a CPE), by format. */
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

/** OSV facts: `severity[]` and GHSA's database_specific.severity. No OSV fixture carries KEV or EPSS. */
function osvFacts(doc: unknown): SourceFacts {
  if (typeof doc !== 'object' || doc === null) return { severity: [] };
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
  return { severity: out };
}

interface FormatMatcher {
  match(doc: unknown, component: ComponentIdentity): MatchOutcome;
  facts(doc: unknown): SourceFacts;
  /** NVD names products by CPE only: a component without one cannot be asked. */
  needsCpe?: boolean;
}

/** The matcher of each advisory format; any other format is counted in `notEvaluated`. */
// A Map, not an object literal: a format string is data, and `toString` must not find a "matcher".
const MATCHERS: ReadonlyMap<string, FormatMatcher> = new Map([
  ['OSV', { match: matchOsv, facts: osvFacts }],
  ['CSAF', { match: matchCsaf, facts: csafFacts }],
  ['CVE5', { match: matchCve5, facts: cve5Facts }],
  ['NVD', { match: matchNvd, facts: nvdFacts, needsCpe: true }],
]);

/** A component's CPE, once SBOM components carry one (CycloneDX `cpe`); undefined until then. */
function cpeOf(component: SbomComponent): string | undefined {
  const cpe: unknown = Reflect.get(component, 'cpe');
  return typeof cpe === 'string' ? cpe : undefined;
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

/** Asks each document, through its format's matcher, about each component whose package it names. */
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
    let named = advisory.packages.flatMap((key) => byKey.get(key) ?? []);
    if (named.length === 0) continue;
    const matcher = MATCHERS.get(advisory.format);
    if (matcher?.needsCpe) named = named.filter((c) => cpeOf(c) !== undefined);
    if (!matcher || named.length === 0) {
      const counted = Object.hasOwn(report.notEvaluated, advisory.format) ? report.notEvaluated[advisory.format]! : 0;
      report.notEvaluated[advisory.format] = counted + 1;
      continue;
    }
    const doc = parseJsonWithLimits(advisory.raw, limits);
    let facts: SourceFacts | undefined;
    for (const component of named) {
      const outcome = matcher.match(doc, matcher.needsCpe ? { ...component, cpe: cpeOf(component) } : component);
      if (outcome.kind === 'affected') {
        facts ??= matcher.facts(doc);
        hits.push({
          component,
          advisory,
          source: sourceOf(advisory, facts, outcome.range),
          fixedVersions: outcome.fixedVersions,
        });
      } else if (outcome.kind === 'unknown') {
        const { reason, detail } = outcome;
        report.undecided.push({
          ref: component.ref,
          purl: component.purl,
          advisory: advisory.upstreamId,
          reason,
          detail,
        });
      }
    }
  }
  return hits;
}

function sourceOf(advisory: AdvisoryRecord, facts: SourceFacts, range: MatchedRange): FindingSource {
  const { recordId, vendor, upstreamId, contentHash } = advisory;
  const source: FindingSource = { recordId, vendor, upstreamId, contentHash, severity: facts.severity, range };
  if (facts.kev) source.kev = facts.kev;
  if (facts.epss) source.epss = facts.epss;
  return source;
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
