// SPDX-License-Identifier: Apache-2.0
// What each upstream format says about a vulnerability (trivy-db's VulnerabilityDetail, reduced to what
// the shipped `vulnerability` bucket keeps): title, description, the vendor's own severity, CVSS vectors
// with base scores computed from the vectors (cvss3BaseScore / cvss2BaseScore of @stella/findings; a
// CVSS 4.0 vector is kept without a score because we have no 4.0 calculator), CWE ids, reference URLs
// and dates. OSV: GHSA's `database_specific.severity` (LOW/MODERATE/HIGH/CRITICAL, any case) and
// `cwe_ids`; AlmaLinux's severity is the word its summary starts with ("Moderate: …"), as trivy-db reads
// it from the erratum. NVD (API 2.0) and CVE 5 records give details only; the builder ships them only
// for ids an advisory uses. Dates are kept when they are RFC 3339 (a missing zone is read as UTC, as NVD
// means it); golang/vulndb's 0001-01-01 placeholder is dropped.
import { cvss2BaseScore, cvss3BaseScore } from '@stella/findings';
import type { Detail, DetailPart } from './types.ts';

type JsonObject = Record<string, unknown>;
export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const SEVERITY_WORDS: Record<string, number> = { low: 1, moderate: 2, medium: 2, important: 3, high: 3, critical: 4 };

/** 1..4 from a vendor's word (LOW, MODERATE, Important, …), undefined for anything else. */
export function severityOf(word: unknown): number | undefined {
  return typeof word === 'string' ? SEVERITY_WORDS[word.trim().toLowerCase()] : undefined;
}

const RFC3339 = /^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

/** An RFC 3339 timestamp Go's time.Time reads, or undefined (bad text, or the year-1 placeholder). */
export function dateOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
  const m = RFC3339.exec(text);
  if (!m || m[1] === '0001' || Number.isNaN(Date.parse(m[3] ? text : `${text}Z`))) return undefined;
  return m[3] ? text : `${text}Z`;
}

function withVector(detail: Detail, vector: string): void {
  const v = vector.trim().replace(/\/$/, '');
  if (v.startsWith('CVSS:4.0/')) {
    detail.v40Vector ??= v;
  } else if (v.startsWith('CVSS:3.')) {
    const score = cvss3BaseScore(v);
    if (score !== undefined && detail.v3Vector === undefined) {
      detail.v3Vector = v;
      detail.v3Score = score;
    }
  } else {
    const score = cvss2BaseScore(v);
    if (score !== undefined && detail.v2Vector === undefined) {
      detail.v2Vector = v;
      detail.v2Score = score;
    }
  }
}

const urls = (refs: unknown): string[] =>
  list(refs)
    .map((r) => (isObject(r) ? str(r.url) : undefined))
    .filter((u): u is string => u !== undefined);

const cwes = (values: unknown[]): string[] =>
  [...new Set(values.filter((v): v is string => typeof v === 'string' && /^CWE-\d+$/.test(v)))].sort();

/** The details an OSV document gives (summary, details, severity, CVSS, CWE, references, dates). */
export function osvDetail(doc: JsonObject, almaStyle: boolean): Detail {
  const specific = isObject(doc.database_specific) ? doc.database_specific : {};
  const detail: Detail = {
    title: str(doc.summary),
    description: str(doc.details),
    severity: severityOf(specific.severity),
    cweIds: cwes(list(specific.cwe_ids)),
    references: urls(doc.references),
    published: dateOf(doc.published),
    modified: dateOf(doc.modified),
  };
  if (almaStyle && detail.severity === undefined && detail.title) {
    detail.severity = severityOf(/^(\w+):/.exec(detail.title)?.[1]);
  }
  const severities = [
    ...list(doc.severity),
    ...list(doc.affected).flatMap((a) => (isObject(a) ? list(a.severity) : [])),
  ];
  for (const s of severities) if (isObject(s) && typeof s.score === 'string') withVector(detail, s.score);
  return detail;
}

function nvdMetric(metrics: JsonObject, key: string): JsonObject | undefined {
  const all = list(metrics[key]).filter(isObject);
  return all.find((m) => m.type === 'Primary') ?? all[0];
}

/** NVD CVE API 2.0: a response (`vulnerabilities[].cve`) or one `cve` object; details under `nvd`. */
export function nvdDetails(doc: JsonObject): DetailPart[] {
  const cves = Array.isArray(doc.vulnerabilities)
    ? doc.vulnerabilities.map((v) => (isObject(v) ? v.cve : undefined)).filter(isObject)
    : [doc];
  const parts: DetailPart[] = [];
  for (const cve of cves) {
    const id = str(cve.id);
    if (!id) continue;
    const metrics = isObject(cve.metrics) ? cve.metrics : {};
    const english = list(cve.descriptions).find((d) => isObject(d) && d.lang === 'en');
    const detail: Detail = {
      description: isObject(english) ? str(english.value) : undefined,
      cweIds: cwes(
        list(cve.weaknesses)
          .flatMap((w) => (isObject(w) ? list(w.description) : []))
          .map((d) => (isObject(d) ? d.value : undefined)),
      ),
      references: urls(cve.references),
      published: dateOf(cve.published),
      modified: dateOf(cve.lastModified),
    };
    const v40 = nvdMetric(metrics, 'cvssMetricV40');
    for (const key of ['cvssMetricV40', 'cvssMetricV31', 'cvssMetricV30', 'cvssMetricV2']) {
      const data = nvdMetric(metrics, key)?.cvssData;
      if (isObject(data) && typeof data.vectorString === 'string') withVector(detail, data.vectorString);
    }
    if (isObject(v40) && isObject(v40.cvssData)) detail.severity = severityOf(v40.cvssData.baseSeverity);
    parts.push({ vulnId: id, sourceId: 'nvd', detail });
  }
  return parts;
}

/** CVE JSON 5: the CNA container (and ADP metrics / CWE ids); details under the source id `cve`. */
export function cve5Details(doc: JsonObject): DetailPart[] {
  const meta = isObject(doc.cveMetadata) ? doc.cveMetadata : {};
  const id = str(meta.cveId);
  const containers = isObject(doc.containers) ? doc.containers : {};
  const cna = isObject(containers.cna) ? containers.cna : {};
  if (!id) return [];
  const all = [cna, ...list(containers.adp).filter(isObject)];
  const english = list(cna.descriptions).find(
    (d) => isObject(d) && typeof d.lang === 'string' && d.lang.startsWith('en'),
  );
  const detail: Detail = {
    title: str(cna.title),
    description: isObject(english) ? str(english.value) : undefined,
    cweIds: cwes(
      all
        .flatMap((c) => list(c.problemTypes))
        .flatMap((p) => (isObject(p) ? list(p.descriptions) : []))
        .map((d) => (isObject(d) ? d.cweId : undefined)),
    ),
    references: urls(cna.references),
    published: dateOf(meta.datePublished),
    modified: dateOf(meta.dateUpdated),
  };
  for (const metric of all.flatMap((c) => list(c.metrics)).filter(isObject)) {
    for (const key of ['cvssV4_0', 'cvssV3_1', 'cvssV3_0', 'cvssV2_0']) {
      const m = metric[key];
      if (isObject(m) && typeof m.vectorString === 'string') withVector(detail, m.vectorString);
    }
  }
  return [{ vulnId: id, sourceId: 'cve', detail }];
}
