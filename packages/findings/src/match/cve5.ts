// SPDX-License-Identifier: Apache-2.0
// The CVE JSON 5 matcher: one component against the `affected[]` products of a CVE record's CNA and ADP
// containers. A product names the component's package by `packageURL` (a purl, CVE 5.1+), or by
// `packageName` inside a `collectionURL` that is a known package registry (registry.npmjs.org, pypi.org,
// Red Hat's package browser, …); vendor/product pairs and CPEs alone name no SBOM package.
// A product's status for version V follows the schema's algorithm (CVE_JSON 5 `versions` description):
// the first `versions[]` entry matching V gives the status — a single version when V equals it, a range
// when version ≤ V < lessThan (or ≤ lessThanOrEqual) in the entry's versionType order, refined by the
// `changes[]` (re-sorted, the last `at` ≤ V wins) — and `defaultStatus` (itself `unknown` when absent)
// covers the rest. By the schema's conventions `version: "0"` has no lower bound and a bound ending in
// `*` is "infinity" at that position (2.* = the whole 2.x series). versionType picks the order: semver,
// npm, maven, python, rpm, … map onto our comparators; git and other source-control types name commits,
// and custom (or none) is read in the component ecosystem's order only when every bound parses there.
// An entry that cannot be read this way is skipped, but then an unmatched V is `unknown`, never the
// defaultStatus: entries are disjoint by the schema, so a later entry that matches still decides.
// Across products affected beats unknown beats unaffected. Red Hat writes one product per RHEL release
// (its `cpes[]`, e.g. cpe:/o:redhat:enterprise_linux:8); an rpm component meets only its own release's
// product when both say theirs (distro qualifier or .elN). A REJECTED record never matches.
import { isObject, type JsonObject, objects, text, texts } from '../sbom/json.ts';
import { purlCoordinates } from '../sbom/purl.ts';
import type { VersionComparator } from '../versions/index.ts';
import { type PackageKey, packageKey, samePackage } from './identity.ts';
import type { MatchOutcome } from './osv.ts';
import type { Cve5MatchedRange } from './ranges.ts';
import {
  type ComponentIdentity,
  CVSS_TYPES,
  cachedIndex,
  componentStream,
  cpeStream,
  isRpm,
  NOT_AFFECTED,
  orderFor,
  parses,
  type SourceFacts,
  sameStream,
  sortedFixed,
  stronger,
  unknown,
} from './shared.ts';

interface Product {
  key: PackageKey;
  /** The RHEL major release its `cpes[]` name (Red Hat writes one product per release). */
  stream?: string;
  versions: JsonObject[];
  defaultStatus: string;
  /** `cna`, or the ADP's providerMetadata.shortName. */
  container: string;
}

interface Cve5Index {
  rejected: boolean;
  byName: Map<string, Product[]>;
}

const nameKey = (key: PackageKey) => `${key.base}\u0000${key.name}`;

// Package registries as collectionURL names them (host, www. dropped) and the ecosystem each is.
const COLLECTIONS: Readonly<Record<string, string>> = {
  'registry.npmjs.org': 'npm',
  'npmjs.com': 'npm',
  'npmjs.org': 'npm',
  'pypi.org': 'PyPI',
  'pypi.python.org': 'PyPI',
  'repo.maven.apache.org': 'Maven',
  'repo1.maven.org': 'Maven',
  'search.maven.org': 'Maven',
  'central.sonatype.com': 'Maven',
  'rubygems.org': 'RubyGems',
  'crates.io': 'crates.io',
  'nuget.org': 'NuGet',
  'api.nuget.org': 'NuGet',
  'packagist.org': 'Packagist',
  'pkg.go.dev': 'Go',
  'proxy.golang.org': 'Go',
  'pub.dev': 'Pub',
  'hackage.haskell.org': 'Hackage',
  'cran.r-project.org': 'CRAN',
};
const RED_HAT_PACKAGES = /^https?:\/\/access\.redhat\.com\/downloads\/content\/package-browser/i;

function collectionEcosystem(url: string): string | undefined {
  if (RED_HAT_PACKAGES.test(url)) return 'Red Hat';
  try {
    return COLLECTIONS[new URL(url).hostname.toLowerCase().replace(/^www\./, '')];
  } catch {
    return undefined;
  }
}

/** The package an affected[] product names: its purl, else packageName in a known registry. */
function productKey(affected: JsonObject): PackageKey | undefined {
  const purl = text(affected.packageURL);
  if (purl) {
    try {
      const coordinates = purlCoordinates(purl);
      if (coordinates.ecosystem) return packageKey(coordinates.ecosystem, coordinates.packageName);
    } catch {
      // an invalid purl names nothing; packageName may still
    }
  }
  const name = text(affected.packageName);
  const collection = text(affected.collectionURL);
  const ecosystem = collection ? collectionEcosystem(collection) : undefined;
  return name && ecosystem ? packageKey(ecosystem, name) : undefined;
}

function containersOf(doc: JsonObject): { name: string; container: JsonObject }[] {
  const containers = isObject(doc.containers) ? doc.containers : {};
  const out = isObject(containers.cna) ? [{ name: 'cna', container: containers.cna }] : [];
  for (const adp of objects(containers.adp)) {
    const meta = isObject(adp.providerMetadata) ? adp.providerMetadata : {};
    out.push({ name: text(meta.shortName) ?? 'adp', container: adp });
  }
  return out;
}

function buildIndex(doc: unknown): Cve5Index {
  const index: Cve5Index = { rejected: false, byName: new Map() };
  if (!isObject(doc)) return index;
  const metadata = isObject(doc.cveMetadata) ? doc.cveMetadata : {};
  index.rejected = metadata.state === 'REJECTED';
  for (const { name, container } of containersOf(doc))
    for (const affected of objects(container.affected)) {
      const key = productKey(affected);
      if (!key) continue;
      const streams = new Set(texts(affected.cpes).flatMap((cpe) => cpeStream(cpe) ?? []));
      const product: Product = {
        key,
        ...(streams.size === 1 ? { stream: [...streams][0] } : {}),
        versions: objects(affected.versions),
        defaultStatus: text(affected.defaultStatus) ?? 'unknown',
        container: name,
      };
      const list = index.byName.get(nameKey(key));
      if (list) list.push(product);
      else index.byName.set(nameKey(key), [product]);
    }
  return index;
}

const cve5Index = cachedIndex(buildIndex);

// versionType → the ecosystem whose comparator is that order. SemVer is npm's comparator (SemVer 2.0).
const VERSION_TYPES: Readonly<Record<string, string>> = {
  semver: 'npm',
  npm: 'npm',
  maven: 'Maven',
  python: 'PyPI',
  pypi: 'PyPI',
  pep440: 'PyPI',
  rpm: 'Red Hat',
  deb: 'Debian',
  dpkg: 'Debian',
  debian: 'Debian',
  gem: 'RubyGems',
  rubygems: 'RubyGems',
  go: 'Go',
  golang: 'Go',
  nuget: 'NuGet',
  apk: 'Alpine',
  composer: 'Packagist',
  cargo: 'crates.io',
};
const SOURCE_CONTROL = new Set(['git', 'hg', 'svn', 'cvs', 'bzr', 'fossil']);

const isStart = (version: string) => version === '0';
const isWildcard = (bound: string) => bound.endsWith('*');

/** The order of a range entry, or why there is none. `values` are the entry's bounds and change points. */
function rangeOrder(type: string | undefined, ecosystem: string, values: string[]): VersionComparator | string {
  const lower = type?.toLowerCase();
  if (lower && SOURCE_CONTROL.has(lower)) return `versionType ${type} names commits, not release versions`;
  const mapped = lower ? VERSION_TYPES[lower] : undefined;
  if (mapped) return orderFor(mapped) ?? `no comparator for versionType ${type}`;
  const order = orderFor(ecosystem);
  const readable = values.filter((v) => !isStart(v) && !isWildcard(v));
  if (order && readable.every((v) => parses(order, v))) return order;
  return `versionType ${type ?? '(none)'} has no order stella can compare, and ${ecosystem} does not read every bound`;
}

/** Whether `version` is at or below the "infinity" bound `P.*`: its leading numbers compare ≤ P's. */
function belowWildcard(bound: string, version: string): boolean | undefined {
  const prefix = bound.slice(0, -1).replace(/\.$/, '');
  if (prefix === '') return true;
  const bounds = prefix.split('.');
  const parts = version.replace(/^v/, '').split(/[.+-]/);
  for (let i = 0; i < bounds.length; i++) {
    const b = bounds[i] ?? '';
    const v = /^[0-9]+/.exec(parts[i] ?? '0')?.[0];
    if (!/^[0-9]+$/.test(b) || v === undefined) return undefined;
    const d = Number(v) - Number(b);
    if (d !== 0) return d < 0;
  }
  return true;
}

type EntryResult = { status: string; range: Cve5MatchedRange } | { unreadable: string } | undefined;

/** Whether V equals a single-version entry: as written, else equal in the entry's or ecosystem's order. */
function equalsSingle(entry: JsonObject, version: string, ecosystem: string): boolean {
  const single = text(entry.version);
  if (single === undefined) return false;
  if (single === version) return true;
  const typed = text(entry.versionType);
  const order = orderFor(typed ? (VERSION_TYPES[typed.toLowerCase()] ?? ecosystem) : ecosystem);
  if (!order || !parses(order, single) || !parses(order, version)) return false;
  return order.compare(single, version) === 0;
}

/** The status a range entry gives V (with its changes), undefined when V is outside it. */
function evaluateRange(entry: JsonObject, version: string, ecosystem: string): EntryResult {
  const start = text(entry.version) ?? '0';
  const lessThan = text(entry.lessThan);
  const lessThanOrEqual = text(entry.lessThanOrEqual);
  const bound = lessThan ?? lessThanOrEqual ?? '*';
  const changes = objects(entry.changes).flatMap((c) => {
    const at = text(c.at);
    const status = text(c.status);
    return at && status ? [{ at, status }] : [];
  });
  const type = text(entry.versionType);
  const order = rangeOrder(type, ecosystem, [start, bound, ...changes.map((c) => c.at)]);
  if (typeof order === 'string') return { unreadable: order };
  if (!parses(order, version))
    return { unreadable: `the component version ${version} is not a ${type ?? ecosystem} version` };
  for (const v of [start, bound, ...changes.map((c) => c.at)])
    if (!isStart(v) && !isWildcard(v) && !parses(order, v)) return { unreadable: `${v} is not a ${type} version` };
  if (!isStart(start) && order.compare(start, version) > 0) return undefined;
  const below = isWildcard(bound)
    ? belowWildcard(bound, version)
    : lessThan !== undefined
      ? order.compare(version, bound) < 0
      : order.compare(version, bound) <= 0;
  if (below === undefined) return { unreadable: `the bound ${bound} cannot be compared` };
  if (!below) return undefined;
  const range: Cve5MatchedRange = { type: 'cve5', by: 'range', introduced: start };
  if (type) range.versionType = type;
  if (lessThan) range.fixed = lessThan;
  if (lessThanOrEqual) range.lastAffected = lessThanOrEqual;
  let status = text(entry.status) ?? 'unknown';
  for (const change of order.sort(changes.map((c) => c.at)).map((at) => changes.find((c) => c.at === at)!))
    if (order.compare(change.at, version) <= 0) {
      status = change.status;
      range.change = change.at;
    }
  return { status, range };
}

/** One product's status for V per the schema's algorithm (see the file comment). */
function productStatus(product: Product, version: string, ecosystem: string): MatchOutcome {
  let unreadable: string | undefined;
  for (const entry of product.versions) {
    const ranged = text(entry.lessThan) !== undefined || text(entry.lessThanOrEqual) !== undefined;
    let result: EntryResult;
    if (!ranged) {
      const status = text(entry.status) ?? 'unknown';
      const single: Cve5MatchedRange = { type: 'cve5', by: 'version', introduced: text(entry.version) ?? '' };
      result = equalsSingle(entry, version, ecosystem) ? { status, range: single } : undefined;
    } else result = evaluateRange(entry, version, ecosystem);
    if (result === undefined) continue;
    if ('unreadable' in result) {
      unreadable ??= result.unreadable;
      continue;
    }
    return outcomeOf(result.status, result.range, product);
  }
  if (unreadable !== undefined) return unknown('range-unsupported', `${product.container}: ${unreadable}`);
  return outcomeOf(product.defaultStatus, { type: 'cve5', by: 'default' }, product);
}

function outcomeOf(status: string, range: Cve5MatchedRange, product: Product): MatchOutcome {
  if (status === 'affected') return { kind: 'affected', range, fixedVersions: [] };
  if (status === 'unaffected') return NOT_AFFECTED;
  const how = range.by === 'default' ? 'defaultStatus' : `the entry at ${range.introduced}`;
  return unknown('status-unknown', `${product.container} gives status ${status} (${how})`);
}

/** Fixed versions a product gives: lessThan of affected ranges and changes to unaffected. */
function fixedOf(product: Product): string[] {
  return product.versions.flatMap((entry) => {
    const fixed = entry.status === 'affected' ? [text(entry.lessThan) ?? ''] : [];
    for (const change of objects(entry.changes)) if (change.status === 'unaffected') fixed.push(text(change.at) ?? '');
    return fixed.filter((v) => v !== '' && !isWildcard(v));
  });
}

/** The outcome for one component against one CVE 5 record; see the file comment for the rules. */
export function matchCve5(doc: unknown, component: ComponentIdentity): MatchOutcome {
  const index = cve5Index(doc);
  if (index.rejected) return NOT_AFFECTED;
  const key = packageKey(component.ecosystem, component.packageName);
  const stream = componentStream(key, component.version);
  const products = (index.byName.get(nameKey(key)) ?? []).filter(
    (p) => samePackage(key, p.key) && (!isRpm(key) || sameStream(stream, p.stream)),
  );
  let best = NOT_AFFECTED;
  for (const product of products) {
    const outcome = productStatus(product, component.version, component.ecosystem);
    if (outcome.kind === 'affected') {
      const fixed = sortedFixed(products.flatMap(fixedOf), orderFor(component.ecosystem));
      return { ...outcome, fixedVersions: fixed };
    }
    best = stronger(best, outcome);
  }
  return best;
}

/** Severity vectors of every container's metrics, and CISA's KEV entry from the CISA ADP container. */
export function cve5Facts(doc: unknown): SourceFacts {
  const facts: SourceFacts = { severity: [] };
  if (!isObject(doc)) return facts;
  for (const { name, container } of containersOf(doc))
    for (const metric of objects(container.metrics)) {
      for (const [field, type] of CVSS_TYPES) {
        const cvss = isObject(metric[field]) ? metric[field] : undefined;
        const vector = text(cvss?.vectorString);
        if (vector) facts.severity.push({ type, score: vector });
      }
      const other = isObject(metric.other) ? metric.other : undefined;
      if (name !== 'CISA-ADP' || other?.type !== 'kev') continue;
      const content = isObject(other.content) ? other.content : {};
      const dateAdded = text(content.dateAdded);
      facts.kev = dateAdded ? { dateAdded } : {};
    }
  return facts;
}
