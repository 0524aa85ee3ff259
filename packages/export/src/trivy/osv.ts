// SPDX-License-Identifier: Apache-2.0
// One AOC record → its Trivy pieces (a read-side projection: the raw document is parsed, never changed).
// OSV is the format Trivy's language and OSV-fed OS buckets come from; per `affected[]` entry it picks
// the bucket, normalises the package name and turns ranges into constraints (ranges.ts). The key under
// the package is trivy-db's: every CVE among the id and `aliases` when there is one (one entry per CVE,
// VendorIDs = the other ids, the document's own id included), else the document id with VendorIDs =
// its aliases. OS buckets are keyed by CVE only, as trivy-db's Alma and Chainguard sources do (CVEs
// from `aliases`, `related` and Chainguard's `upstream`). A record that is partly usable projects the
// usable part; each dropped part is one skip with its reason. NVD and CVE 5 give vulnerability details
// only. CSAF is skipped: Trivy reads Red Hat data through its `Red Hat CPE` index and `Entries` values,
// which this projection does not build.
import { cve5Details, isObject, nvdDetails, osvDetail } from './details.ts';
import { type LangRanges, langRanges, orderOf, osFix } from './ranges.ts';
import { badKey, langBucket, langSource, normalisePackage, trivyEcosystem } from './sources.ts';
import { type AdvisoryPart, emptyProjection, type Projection, type TrivyRecord } from './types.ts';

type JsonObject = Record<string, unknown>;
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);
const shown = (v: unknown) => JSON.stringify(typeof v === 'string' && v.length > 80 ? `${v.slice(0, 80)}…` : v);

/** trivy-db's grouping: CVE ids are the keys when there are any; the other ids become VendorIDs. */
export function groupIds(id: string, aliases: string[]): { keys: string[]; vendorIds: string[] } {
  const all = [...new Set([...aliases, id])];
  const cves = all.filter((a) => a.startsWith('CVE-'));
  if (cves.length === 0) return { keys: [id], vendorIds: [...new Set(aliases)].filter((a) => a !== id) };
  return { keys: cves, vendorIds: all.filter((a) => !a.startsWith('CVE-')) };
}

/** A Go standard library import path: its first element has no dot (module paths start with a host). */
const isGoStandardPackage = (name: string) =>
  !(name.split('/')[0] ?? '').includes('.') && name !== 'stdlib' && name !== 'toolchain';

interface Context {
  record: TrivyRecord;
  doc: JsonObject;
  id: string;
  out: Projection;
  /** Detail source ids of the parts projected, for filing the document's details. */
  sources: Set<string>;
}

function pushKeyed(ctx: Context, base: Omit<AdvisoryPart, 'vulnId'>, keys: string[], label: string): void {
  for (const vulnId of keys) {
    const bad = badKey(vulnId);
    if (bad) ctx.out.skips.push({ reason: 'malformed', detail: `${label}: vulnerability id ${shown(vulnId)} ${bad}` });
    else ctx.out.advisories.push({ ...base, vulnId });
  }
}

function rangeSkips(ctx: Context, label: string, result: Pick<LangRanges, 'problems'>, empty: boolean): void {
  for (const p of result.problems) ctx.out.skips.push({ reason: 'range-unparseable', detail: `${label}: ${p}` });
  if (empty && result.problems.length === 0) {
    ctx.out.skips.push({ reason: 'range-unparseable', detail: `${label}: no ranges or versions to match on` });
  }
}

function projectAffected(ctx: Context, affected: JsonObject, index: number): void {
  const pkg = isObject(affected.package) ? affected.package : {};
  const ecosystem = pkg.ecosystem;
  const name = pkg.name;
  if (affected.package === undefined) {
    // OSV allows an affected[] entry with only GIT ranges of a repository: nothing Trivy matches on.
    ctx.out.skips.push({ reason: 'no-packages', detail: `affected[${index}]: names no package` });
    return;
  }
  if (typeof ecosystem !== 'string' || typeof name !== 'string') {
    ctx.out.skips.push({
      reason: 'malformed',
      detail: `affected[${index}]: package has no ecosystem and name strings`,
    });
    return;
  }
  const label = `affected[${index}] ${ecosystem}/${name}`.slice(0, 200);
  const eco = trivyEcosystem(ecosystem);
  if (!eco) {
    ctx.out.skips.push({
      reason: 'ecosystem-unsupported',
      detail: `${label}: Trivy has no bucket for ${shown(ecosystem)}`,
    });
    return;
  }
  if (eco.kind === 'os') {
    projectOs(ctx, affected, label, name, eco);
    return;
  }
  const pkgName = normalisePackage(eco.slug, name);
  const bad = badKey(pkgName);
  if (bad) {
    ctx.out.skips.push({ reason: 'malformed', detail: `${label}: package name ${bad}` });
    return;
  }
  const source = langSource(eco.slug, ctx.id, ctx.record.vendor);
  if (source.ID === 'ghsa' && eco.slug === 'go' && isGoStandardPackage(pkgName)) {
    // trivy-db drops GHSA's standard-library entries: Trivy matches the Go toolchain as `stdlib`,
    // whose advisories come from the Go vulndb.
    ctx.out.skips.push({
      reason: 'no-packages',
      detail: `${label}: Go standard library package; Trivy matches stdlib from the Go vulndb`,
    });
    return;
  }
  const ranges = langRanges(affected, { order: orderOf(eco.versions), ghsa: source.ID === 'ghsa' });
  rangeSkips(ctx, label, ranges, ranges.vulnerable.length === 0);
  if (ranges.vulnerable.length === 0) return;
  const bucket = langBucket(eco.slug, source);
  const { keys, vendorIds } = groupIds(ctx.id, strings(ctx.doc.aliases));
  const before = ctx.out.advisories.length;
  pushKeyed(
    ctx,
    { bucket, pkg: pkgName, vendorIds, vulnerable: ranges.vulnerable, patched: ranges.patched, ecosystem },
    keys,
    label,
  );
  if (ctx.out.advisories.length > before) {
    ctx.out.dataSources.push({ bucket, source });
    ctx.sources.add(source.ID);
  }
}

function projectOs(
  ctx: Context,
  affected: JsonObject,
  label: string,
  name: string,
  eco: Extract<ReturnType<typeof trivyEcosystem>, { kind: 'os' }>,
): void {
  const bad = badKey(name);
  if (bad) {
    ctx.out.skips.push({ reason: 'malformed', detail: `${label}: package name ${bad}` });
    return;
  }
  const ids = [ctx.id, ...strings(ctx.doc.aliases), ...strings(ctx.doc.related), ...strings(ctx.doc.upstream)];
  const cves = [...new Set(ids.filter((a) => a.startsWith('CVE-')))];
  if (cves.length === 0) {
    ctx.out.skips.push({ reason: 'no-packages', detail: `${label}: no CVE id; trivy-db keys OS advisories by CVE` });
    return;
  }
  const order = orderOf(eco.versions);
  if (!order) return;
  const fix = osFix(affected, order);
  if (eco.bucket === 'chainguard' || eco.bucket === 'wolfi') {
    // Chainguard records "fixed in 0" for a false positive: the package is not affected (trivy-db agrees).
    const falsePositive = fix.fixed.includes('0');
    fix.fixed = fix.fixed.filter((v) => v !== '0');
    if (falsePositive && fix.fixed.length === 0 && !fix.unfixed) {
      ctx.out.skips.push({ reason: 'no-packages', detail: `${label}: fixed "0", Chainguard's not-affected marker` });
      return;
    }
  }
  const empty = fix.fixed.length === 0 && !fix.unfixed;
  rangeSkips(ctx, label, fix, empty);
  if (empty) return;
  const fixed = fix.unfixed ? undefined : order.sort([...new Set(fix.fixed)], { descending: true })[0];
  const base = {
    bucket: eco.bucket,
    pkg: name,
    vendorIds: [ctx.id],
    vulnerable: [],
    patched: [],
    fixed,
    unfixed: fix.unfixed,
    ecosystem: eco.versions,
  };
  const before = ctx.out.advisories.length;
  pushKeyed(ctx, base, cves, label);
  if (ctx.out.advisories.length > before) {
    ctx.out.dataSources.push({ bucket: eco.bucket, source: eco.source });
    ctx.sources.add(eco.source.ID);
  }
}

function projectOsv(record: TrivyRecord, doc: JsonObject): Projection {
  const out = emptyProjection();
  const id = doc.id;
  if (typeof id !== 'string' || badKey(id)) {
    out.skips.push({ reason: 'malformed', detail: `OSV id ${shown(id)} is missing or not a usable key` });
    return out;
  }
  const affected = Array.isArray(doc.affected) ? doc.affected : [];
  if (affected.length === 0) {
    out.skips.push({ reason: 'no-packages', detail: 'OSV document has no affected[] entries' });
    return out;
  }
  const ctx: Context = { record, doc, id, out, sources: new Set() };
  for (const [index, entry] of affected.entries()) {
    if (isObject(entry)) projectAffected(ctx, entry, index);
    else out.skips.push({ reason: 'malformed', detail: `affected[${index}] is not an object` });
  }
  const almaStyle = ctx.sources.has('alma');
  const detail = osvDetail(doc, almaStyle);
  const keys = new Set(out.advisories.map((a) => a.vulnId));
  for (const sourceId of ctx.sources) {
    for (const vulnId of keys) out.details.push({ vulnId, sourceId, detail });
  }
  if (out.advisories.length === 0 && out.skips.length === 0) {
    out.skips.push({ reason: 'no-packages', detail: 'nothing in affected[] could be projected' });
  }
  return out;
}

/** The projection of one record. */
export function projectRecord(record: TrivyRecord): Projection {
  const out = emptyProjection();
  if (record.withdrawn) {
    out.skips.push({ reason: 'withdrawn', detail: `${record.format} record is withdrawn upstream` });
    return out;
  }
  if (record.format === 'CSAF') {
    out.skips.push({
      reason: 'format-unsupported',
      detail: "CSAF: Trivy reads Red Hat data through the 'Red Hat CPE' index and Entries values, not built here",
    });
    return out;
  }
  if (!['OSV', 'NVD', 'CVE5'].includes(record.format)) {
    out.skips.push({ reason: 'format-unsupported', detail: `format ${shown(record.format)} has no Trivy projection` });
    return out;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(record.raw);
  } catch (error) {
    out.skips.push({
      reason: 'malformed',
      detail: `not JSON: ${error instanceof Error ? error.message : String(error)}`,
    });
    return out;
  }
  if (!isObject(doc)) {
    out.skips.push({ reason: 'malformed', detail: 'the document is not a JSON object' });
    return out;
  }
  if (record.format === 'OSV') {
    if (doc.withdrawn !== undefined && doc.withdrawn !== null) {
      out.skips.push({ reason: 'withdrawn', detail: `OSV withdrawn ${shown(doc.withdrawn)}` });
      return out;
    }
    return projectOsv(record, doc);
  }
  out.details = record.format === 'NVD' ? nvdDetails(doc) : cve5Details(doc);
  return out;
}
