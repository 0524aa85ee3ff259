// SPDX-License-Identifier: Apache-2.0
// What the CSAF, CVE 5 and NVD matchers share: the component they are asked about, a comparator per
// ecosystem made once (matching runs components × advisories times), the "affected beats unknown beats
// not-affected" rule, fixed versions in the ecosystem's order, and a per-document index cache so a
// document parsed once is also indexed once, however many components ask it.
import { StellaError } from '@stella/core';
import { PackageURL } from 'packageurl-js';
import { FindingsErrors } from '../errors.ts';
import { type VersionComparator, versionComparator } from '../versions/index.ts';
import type { PackageKey } from './identity.ts';
import type { ComponentCoordinates, MatchOutcome } from './osv.ts';
import type { UnknownReason } from './ranges.ts';

export interface ComponentIdentity extends ComponentCoordinates {
  /** The component's purl with its qualifiers (CSAF reads an rpm `epoch` and `distro` from it). */
  purl?: string;
  /** A CPE 2.3 formatted string, when the SBOM gave one (NVD configurations match on it). */
  cpe?: string;
}

const comparators = new Map<string, VersionComparator | null>();

/** The comparator of an ecosystem, or undefined when the registry does not know it. */
export function orderFor(ecosystem: string): VersionComparator | undefined {
  const cached = comparators.get(ecosystem);
  if (cached !== undefined) return cached ?? undefined;
  let made: VersionComparator | null = null;
  try {
    made = versionComparator(ecosystem);
  } catch (error) {
    if (!(error instanceof StellaError) || error.code !== FindingsErrors.ecosystemUnknown.code) throw error;
  }
  comparators.set(ecosystem, made);
  return made ?? undefined;
}

/** Whether `version` parses in `order`. */
export function parses(order: VersionComparator, version: string): boolean {
  try {
    order.check(version);
    return true;
  } catch {
    return false;
  }
}

export const unknown = (reason: UnknownReason, detail: string): MatchOutcome => ({ kind: 'unknown', reason, detail });
export const NOT_AFFECTED: MatchOutcome = { kind: 'not-affected' };

const RANK: Record<MatchOutcome['kind'], number> = { 'not-affected': 0, unknown: 1, affected: 2 };
/** The stronger of two outcomes (affected > unknown > not-affected); on a tie the first stays. */
export const stronger = (a: MatchOutcome, b: MatchOutcome): MatchOutcome => (RANK[b.kind] > RANK[a.kind] ? b : a);

/** Versions once each, ascending in `order` when given; those that do not parse last, as written. */
export function sortedFixed(versions: Iterable<string>, order: VersionComparator | undefined): string[] {
  const all = [...new Set(versions)];
  if (!order) return all.sort();
  const good = all.filter((v) => parses(order, v));
  return [...order.sort(good), ...all.filter((v) => !good.includes(v))];
}

/** One index per parsed document object: the scan parses a document once and asks it per component. */
export function cachedIndex<T>(build: (doc: unknown) => T): (doc: unknown) => T {
  const cache = new WeakMap<object, T>();
  return (doc) => {
    if (typeof doc !== 'object' || doc === null) return build(doc);
    const hit = cache.get(doc);
    if (hit !== undefined) return hit;
    const made = build(doc);
    cache.set(doc, made);
    return made;
  };
}

/** A parsed purl, or undefined for text packageurl-js refuses. */
export function parsedPurl(text: string | undefined): PackageURL | undefined {
  if (text === undefined) return undefined;
  try {
    return PackageURL.fromString(text.trim());
  } catch {
    return undefined;
  }
}

/**
 * An rpm version with its epoch: Red Hat purls carry it as the `epoch` qualifier (pkg:rpm/redhat/bind@9.8.2-…
 * ?epoch=32) while rpm writes `32:9.8.2-…`; without it, epoch 32 packages would sort below every epoch 0 one.
 */
export function withEpoch(version: string, purl: PackageURL | undefined): string {
  const epoch = purl?.qualifiers?.epoch;
  if (epoch === undefined || !/^[0-9]+$/.test(epoch) || /^[0-9]+:/.test(version)) return version;
  return `${epoch}:${version}`;
}

/** What a source says about a vulnerability besides versions: its own severity and KEV / EPSS facts. */
export interface SourceFacts {
  severity: { type: string; score: string }[];
  kev?: { dateAdded?: string };
  epss?: { score: number; percentile?: number };
}

/** CVSS vectors of CVE 5 metrics (cvssV4_0, cvssV3_1, cvssV3_0, cvssV2_0) and NVD metrics, by the OSV type names. */
export const CVSS_TYPES: readonly (readonly [string, string])[] = [
  ['cvssV4_0', 'CVSS_V4'],
  ['cvssV3_1', 'CVSS_V3'],
  ['cvssV3_0', 'CVSS_V3'],
  ['cvssV2_0', 'CVSS_V2'],
];

// RHEL streams (the major release): product CPEs such as cpe:/o:redhat:enterprise_linux:9::baseos or
// cpe:/o:redhat:rhel_eus:8.6::baseos, rpm releases such as 3.el9_3.3, distro qualifiers such as rhel-9.3.
const CPE_STREAM = /^cpe:(?:\/[aho]|2\.3:[aho]):redhat:[^:]+:([0-9]+)/i;
const RELEASE_STREAM = /\.el([0-9]+)/;

export const isRpm = (key: PackageKey): boolean => key.known?.scheme.id === 'rpm';
export const cpeStream = (cpe: string | undefined): string | undefined => (cpe ? CPE_STREAM.exec(cpe)?.[1] : undefined);
export const releaseStream = (version: string | undefined): string | undefined =>
  version ? RELEASE_STREAM.exec(version)?.[1] : undefined;

/** An rpm component's RHEL stream: its distro qualifier (rhel-9.3 → 9), else the `.elN` of its release. */
export function componentStream(key: PackageKey, version: string): string | undefined {
  if (!isRpm(key)) return undefined;
  return (key.release ? /([0-9]+)/.exec(key.release)?.[1] : undefined) ?? releaseStream(version);
}

/** Streams narrow like releases: unknown on either side meets every stream. */
export const sameStream = (a: string | undefined, b: string | undefined): boolean =>
  a === undefined || b === undefined || a === b;
