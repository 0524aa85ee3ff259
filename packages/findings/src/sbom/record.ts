// SPDX-License-Identifier: Apache-2.0
// The SBOM records as the API and CLI show them (camelCase), built from the stored rows, and the
// cursor of the components listing.
import { Errors, StellaError } from '@stella/core';
import type { SbomComponentRow, SbomDocumentRow } from '../sql/sboms.ts';
import type { SbomIssue } from './model.ts';

export interface SbomRoot {
  name: string;
  version: string | null;
  purl: string | null;
}

export interface SbomProvenance {
  clientId: string;
  filename?: string;
  userAgent?: string;
}

export interface SbomRecord {
  id: string;
  subjectKey: string;
  format: string;
  specVersion: string;
  documentId: string | null;
  contentHash: string;
  size: number;
  /** Components besides the root. */
  components: number;
  edges: number;
  root: SbomRoot | null;
  issues: SbomIssue[];
  provenance: SbomProvenance;
  ingestedAt: string;
}

export interface SbomComponentView {
  ord: number;
  ref: string;
  name: string;
  version: string | null;
  purl: string | null;
  ecosystem: string | null;
  packageName: string;
  identifiedBy: string;
  root: boolean;
}

// The JSON columns were written by this room from these same types; the database hands them back as
// parsed JSON, so reading them as such is sound (the table's CHECKs keep their top-level shapes).
export function recordOf(row: SbomDocumentRow): SbomRecord {
  return {
    id: row.id,
    subjectKey: row.subject_key,
    format: row.format,
    specVersion: row.spec_version,
    documentId: row.document_id,
    contentHash: row.content_hash,
    size: row.size,
    components: row.component_count,
    edges: row.edge_count,
    root: (row.root ?? null) as SbomRoot | null,
    issues: row.issues as SbomIssue[],
    provenance: row.provenance as SbomProvenance,
    ingestedAt: row.ingested_at,
  };
}

export function componentOf(row: SbomComponentRow): SbomComponentView {
  return {
    ord: row.ord,
    ref: row.ref,
    name: row.name,
    version: row.version,
    purl: row.purl,
    ecosystem: row.ecosystem,
    packageName: row.package_name,
    identifiedBy: row.identified_by,
    root: row.is_root,
  };
}

export function encodeOrdCursor(ord: number): string {
  return Buffer.from(`o:${ord}`).toString('base64url');
}

/** The ord after which the next page starts: -1 without a cursor. */
export function decodeOrdCursor(cursor: string | undefined): number {
  if (cursor === undefined || cursor === '') return -1;
  const match = /^o:(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match)
    throw new StellaError(Errors.invalidCursor, 'cursor is malformed: pass nextCursor from the previous page', {
      details: { parameter: 'cursor' },
    });
  return Number(match[1]);
}
