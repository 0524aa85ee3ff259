// SPDX-License-Identifier: Apache-2.0
// The format door of the AOC room: tells which family an upstream document belongs to by its
// shape, and extracts what the envelope records about it (ids, versions, linkset, schema notes).
import { StellaError } from '@stella/core';
import { AocErrors } from '../errors.ts';
import { extractCsaf, looksLikeCsaf } from './csaf.ts';
import { extractCve5, looksLikeCve5 } from './cve5.ts';
import { extractCycloneDx, hasVulnerabilities, isCycloneDx } from './cyclonedx.ts';
import { arrayAt, type Extracted, isRecord, type JsonRecord } from './linkset.ts';
import { extractNvd, looksLikeNvd } from './nvd.ts';
import { extractOpenVex, looksLikeOpenVex } from './openvex.ts';
import { extractOsv, looksLikeOsv } from './osv.ts';
import { validateSchema } from './schema.ts';
import type { ContentFormat, Recognised } from './types.ts';

export { cpe23 } from './cpe.ts';
export { canonicalPurl, packageLevelPurl, purlForEcosystem } from './purl.ts';
export { validateSchema } from './schema.ts';
export { parseStrictJson } from './strict-json.ts';

export interface RecogniseHint {
  /** The format the caller expects (e.g. from the connector); the shape must still match it. */
  format?: ContentFormat;
}

interface Family {
  formats: ContentFormat[];
  /** What the detector looks for, for error messages. */
  marker: string;
  matches(doc: JsonRecord): boolean;
  extract(doc: JsonRecord): Extracted;
  /** The field an upstream id comes from, for the error when it is missing. */
  idField: string;
}

/** Most specific shapes first: OSV's `id` + `modified` would also match many other documents. */
const FAMILIES: Family[] = [
  {
    formats: ['CSAF', 'CSAF_VEX'],
    marker: 'document.csaf_version (CSAF)',
    matches: looksLikeCsaf,
    extract: extractCsaf,
    idField: 'document.tracking.id',
  },
  {
    formats: ['CYCLONEDX_VEX'],
    marker: 'bomFormat "CycloneDX" with vulnerabilities[] (CycloneDX VEX)',
    matches: isCycloneDx,
    extract: extractCycloneDx,
    idField: 'serialNumber or vulnerabilities[0].id',
  },
  {
    formats: ['OPENVEX'],
    marker: '@context https://openvex.dev/ns… (OpenVEX)',
    matches: looksLikeOpenVex,
    extract: extractOpenVex,
    idField: '@id',
  },
  {
    formats: ['CVE5'],
    marker: 'dataType "CVE_RECORD" / cveMetadata.cveId (CVE JSON 5)',
    matches: looksLikeCve5,
    extract: extractCve5,
    idField: 'cveMetadata.cveId',
  },
  {
    formats: ['NVD'],
    marker: 'format "NVD_CVE" / vulnerabilities[0].cve (NVD API 2.0)',
    matches: looksLikeNvd,
    extract: extractNvd,
    idField: 'vulnerabilities[0].cve.id',
  },
  {
    formats: ['OSV'],
    marker: 'string id and modified (OSV)',
    matches: looksLikeOsv,
    extract: extractOsv,
    idField: 'id',
  },
];

function unrecognised(message: string): StellaError {
  return new StellaError(AocErrors.unrecognisedFormat, message);
}

function describe(doc: unknown): string {
  if (Array.isArray(doc)) return 'a JSON array';
  if (!isRecord(doc)) return `a JSON ${doc === null ? 'null' : typeof doc}`;
  const keys = Object.keys(doc).slice(0, 8);
  return keys.length === 0 ? 'an empty object' : `an object with keys ${keys.join(', ')}`;
}

/** Detects the family of a parsed document and extracts its envelope facts. */
export function recognise(doc: unknown, hint: RecogniseHint = {}): Recognised {
  const looked = FAMILIES.map((family) => family.marker).join('; ');
  if (!isRecord(doc)) throw unrecognised(`expected a JSON object (looked for ${looked}), got ${describe(doc)}`);
  const candidates =
    hint.format === undefined ? FAMILIES : FAMILIES.filter((f) => f.formats.includes(hint.format as ContentFormat));
  if (candidates.length === 0) {
    const known = [...new Set(FAMILIES.flatMap((f) => f.formats))].join(', ');
    throw unrecognised(`content.format ${String(hint.format).slice(0, 40)} is not a known format; use one of ${known}`);
  }
  const family = candidates.find((candidate) => candidate.matches(doc));
  if (family === undefined) {
    const expected = hint.format === undefined ? looked : candidates.map((f) => f.marker).join('; ');
    throw unrecognised(`not a recognised advisory or VEX document: looked for ${expected}; got ${describe(doc)}`);
  }
  if (family.formats.includes('CYCLONEDX_VEX') && !hasVulnerabilities(doc)) {
    throw unrecognised(
      'CycloneDX BOM without vulnerabilities[] is an SBOM, not a VEX document; ingest VEX/BOV documents only',
    );
  }
  if (family.formats.includes('NVD')) {
    const count = arrayAt(doc.vulnerabilities).length;
    if (count !== 1) {
      throw new StellaError(
        AocErrors.mergeAttempt,
        `NVD API response holds ${count} CVEs; split the page into one document per vulnerabilities[] entry`,
      );
    }
  }
  const extracted = family.extract(doc);
  // An empty upstreamId (no ${family.idField}) is left to ingestion, which names the document by
  // the writer's upstream_id or by where it was fetched from.
  return { ...extracted, schema: validateSchema(extracted.format, extracted.specVersion, doc) };
}

export type { Extracted } from './linkset.ts';
