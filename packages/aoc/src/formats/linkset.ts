// SPDX-License-Identifier: Apache-2.0
// Shared plumbing of the per-format extractors: reading untyped JSON safely, RFC 6901 pointers, and
// a collector that makes every linkset sorted, unique and traceable to the pointers it came from.

import { cpe23 } from './cpe.ts';
import { canonicalPurl, packageLevelPurl } from './purl.ts';
import type { Identifiers, Linkset, LinksetSymbols, Recognised } from './types.ts';

/** What a format extractor returns; the schema annotation is added by `recognise`. */
export type Extracted = Omit<Recognised, 'schema'>;

export type JsonRecord = Record<string, unknown>;

export function isRecord(value: unknown): value is JsonRecord {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function arrayAt(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** A trimmed non-empty string, else undefined. */
export function textAt(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** Strings and numbers as text (OpenVEX and CycloneDX `version` come as either). */
export function scalarText(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return textAt(value) ?? null;
}

export function escapePointerSegment(segment: string | number): string {
  if (typeof segment === 'number') return String(segment);
  if (!segment.includes('~') && !segment.includes('/')) return segment;
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** RFC 6901 pointer of a path; the empty path is the whole document (""). */
export function pointerOf(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const segment of path) out += `/${escapePointerSegment(segment)}`;
  return out;
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortedUniqueText(values: Iterable<string>): string[] {
  return [...new Set(values)].sort(compareText);
}

const CVE_RE = /^CVE-\d{4}-\d{4,}$/i;
const GHSA_RE = /^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$/i;
/** Something shaped like a vulnerability id: PREFIX-rest, no spaces or slashes (not a URL). */
const ID_LIKE_RE = /^[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9][A-Za-z0-9._:-]*$/;

export function isCveId(value: string): boolean {
  return CVE_RE.test(value);
}
export function isGhsaId(value: string): boolean {
  return GHSA_RE.test(value);
}
export function looksLikeVulnerabilityId(value: string): boolean {
  return ID_LIKE_RE.test(value);
}

/** Syntactic normalisation only: CVE upper-case, GHSA prefix upper-case and body lower-case. */
export function normaliseAlias(value: string): string {
  const trimmed = value.trim();
  if (CVE_RE.test(trimmed)) return trimmed.toUpperCase();
  if (GHSA_RE.test(trimmed)) return `GHSA${trimmed.slice(4).toLowerCase()}`;
  return trimmed;
}

const GHSA_IN_TEXT_RE = /GHSA(?:-[23456789cfghjmpqrvwx]{4}){3}/gi;

/** GHSA ids inside a URL such as …/security/advisories/GHSA-xxxx-xxxx-xxxx. */
export function ghsaIdsIn(text: string): string[] {
  return [...text.matchAll(GHSA_IN_TEXT_RE)].map((m) => m[0]);
}

export interface LinksetCollector {
  /** Adds a purl after canonicalisation; an unparsable purl is skipped (returns null). */
  purl(value: unknown, ...pointers: string[]): string | null;
  /** Adds a purl without its version (package level). */
  packagePurl(value: unknown, ...pointers: string[]): string | null;
  /** Adds a purl that is already canonical (built by us). */
  canonical(purl: string, ...pointers: string[]): void;
  cpe(value: unknown, pointer: string): void;
  alias(value: unknown, pointer: string): void;
  reference(type: unknown, url: unknown, pointer: string): void;
  symbols(entry: LinksetSymbols): void;
  build(): Linkset;
}

export function linksetCollector(): LinksetCollector {
  const purls = new Set<string>();
  const cpes = new Set<string>();
  const aliases = new Set<string>();
  const references = new Map<string, { type: string; url: string }>();
  const symbols: LinksetSymbols[] = [];
  const pointers = new Set<string>();

  const addPointers = (list: string[]): void => {
    for (const p of list) pointers.add(p);
  };

  const collector: LinksetCollector = {
    purl(value, ...from) {
      const text = textAt(value);
      const purl = text === undefined ? null : canonicalPurl(text);
      if (purl === null) return null;
      purls.add(purl);
      addPointers(from);
      return purl;
    },
    packagePurl(value, ...from) {
      const text = textAt(value);
      const purl = text === undefined ? null : packageLevelPurl(text);
      if (purl === null) return null;
      purls.add(purl);
      addPointers(from);
      return purl;
    },
    canonical(purl, ...from) {
      purls.add(purl);
      addPointers(from);
    },
    cpe(value, pointer) {
      const text = textAt(value);
      const cpe = text === undefined ? null : cpe23(text);
      if (cpe === null) return;
      cpes.add(cpe);
      pointers.add(pointer);
    },
    alias(value, pointer) {
      const text = textAt(value);
      if (text === undefined) return;
      aliases.add(normaliseAlias(text));
      pointers.add(pointer);
    },
    reference(type, url, pointer) {
      const link = textAt(url);
      if (link === undefined) return;
      const kind = textAt(type) ?? 'WEB';
      references.set(`${kind}\u0000${link}`, { type: kind, url: link });
      pointers.add(pointer);
    },
    symbols(entry) {
      if (entry.symbols.length === 0) return;
      symbols.push(entry);
      pointers.add(entry.pointer);
    },
    build() {
      return {
        purls: sortedUniqueText(purls),
        cpes: sortedUniqueText(cpes),
        aliases: sortedUniqueText(aliases),
        references: [...references.values()].sort((a, b) => compareText(a.url, b.url) || compareText(a.type, b.type)),
        symbols: symbols.sort((a, b) => compareText(a.pointer, b.pointer)),
        reconciled_from: sortedUniqueText(pointers),
      };
    },
  };
  return collector;
}

/** Identifiers as provided: trimmed, document order, duplicates allowed (spec §3.2). */
export function identifiersCollector(): {
  cve(v: unknown): void;
  ghsa(v: unknown): void;
  alias(v: unknown): void;
  build(): Identifiers;
  any(v: unknown): void;
} {
  const ids: Identifiers = { cve: [], ghsa: [], aliases: [] };
  return {
    cve(value) {
      const text = textAt(value);
      if (text !== undefined) ids.cve.push(text);
    },
    ghsa(value) {
      const text = textAt(value);
      if (text !== undefined) ids.ghsa.push(text);
    },
    alias(value) {
      const text = textAt(value);
      if (text !== undefined) ids.aliases.push(text);
    },
    /** Files a vulnerability id under cve or ghsa when it is one. */
    any(value) {
      const text = textAt(value);
      if (text === undefined) return;
      if (isCveId(text)) ids.cve.push(text);
      else if (isGhsaId(text)) ids.ghsa.push(text);
    },
    build() {
      return ids;
    },
  };
}
