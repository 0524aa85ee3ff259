// SPDX-License-Identifier: Apache-2.0
// The JSON values of trivy.db, written the way trivy-db's Go structs marshal (export-formats.md §1.4):
// fields in declaration order, `omitempty` (empty strings, empty lists, zero numbers and empty maps are
// left out), map keys sorted, no whitespace, and `<` `>` `&` U+2028 U+2029 escaped as Go's encoder does.
// Trivy only unmarshals these values, so byte equality with trivy-db is not required; what is required
// is that the same input gives the same bytes, which building each object in a fixed key order gives.
import type { DataSource } from './types.ts';

/** trivy-db's Advisory as stored in a language or OS bucket. */
export interface AdvisoryValue {
  VendorIDs?: string[];
  FixedVersion?: string;
  VulnerableVersions?: string[];
  PatchedVersions?: string[];
  /** The DB marshaller stores the status index: 0 unknown (omitted), 2 affected, 3 fixed, … */
  Status?: number;
}

export interface CvssValue {
  V2Vector?: string;
  V3Vector?: string;
  V40Vector?: string;
  V2Score?: number;
  V3Score?: number;
  V40Score?: number;
}

export interface VulnerabilityValue {
  Title?: string;
  Description?: string;
  Severity?: string;
  CweIDs?: string[];
  VendorSeverity?: Record<string, number>;
  CVSS?: Record<string, CvssValue>;
  References?: string[];
  PublishedDate?: string;
  LastModifiedDate?: string;
}

type Field = [string, unknown];

const GO_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === 0) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}

/** An object with `fields` in the given order, empty ones left out (Go's omitempty). */
function ordered(fields: Field[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of fields) if (!isEmpty(value)) out[key] = value;
  return out;
}

/** A map as Go marshals it: keys in byte order. */
function sortedMap<T>(map: Record<string, T> | undefined, each: (value: T) => unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!map) return out;
  const keys = Object.keys(map).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const key of keys) out[key] = each(map[key] as T);
  return out;
}

function goJson(value: unknown): Buffer {
  return Buffer.from(
    JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c] ?? c),
    'utf8',
  );
}

export function advisoryJson(a: AdvisoryValue): Buffer {
  return goJson(
    ordered([
      ['VendorIDs', a.VendorIDs],
      ['FixedVersion', a.FixedVersion],
      ['VulnerableVersions', a.VulnerableVersions],
      ['PatchedVersions', a.PatchedVersions],
      ['Status', a.Status],
    ]),
  );
}

function cvssObject(c: CvssValue): Record<string, unknown> {
  return ordered([
    ['V2Vector', c.V2Vector],
    ['V3Vector', c.V3Vector],
    ['V40Vector', c.V40Vector],
    ['V2Score', c.V2Score],
    ['V3Score', c.V3Score],
    ['V40Score', c.V40Score],
  ]);
}

export function vulnerabilityJson(v: VulnerabilityValue): Buffer {
  return goJson(
    ordered([
      ['Title', v.Title],
      ['Description', v.Description],
      ['Severity', v.Severity],
      ['CweIDs', v.CweIDs],
      ['VendorSeverity', sortedMap(v.VendorSeverity, (s) => s)],
      ['CVSS', sortedMap(v.CVSS, cvssObject)],
      ['References', v.References],
      ['PublishedDate', v.PublishedDate],
      ['LastModifiedDate', v.LastModifiedDate],
    ]),
  );
}

export function dataSourceJson(d: DataSource): Buffer {
  return goJson(
    ordered([
      ['ID', d.ID],
      ['Name', d.Name],
      ['URL', d.URL],
    ]),
  );
}
