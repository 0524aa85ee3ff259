// SPDX-License-Identifier: Apache-2.0
// From raw VEX documents to statements: the record's format picks the reader, and a batch of records
// is read without ever throwing, so one malformed or hostile document costs its own statements only
// (it is skipped and reported to the caller), never the scan it is joined into.
import { DEFAULT_JSON_LIMITS, type JsonLimits, parseJsonWithLimits } from '@stella/core';
import type { VexStatement } from '../evidence/model.ts';
import { isObject } from '../sbom/json.ts';
import { readCsafVex } from './csaf.ts';
import { readCycloneDxVex } from './cyclonedx.ts';
import { readOpenVex } from './openvex.ts';
import { statementBudget } from './product.ts';
import type { VexRecord, VexRecordWithRaw } from './source.ts';

/**
 * Statements of one parsed document, in document order; none for a shape or format it cannot read.
 * Throws a RangeError for a document that expands past MAX_STATEMENTS_PER_DOCUMENT statements.
 */
export function readVexStatements(record: VexRecord, doc: unknown): VexStatement[] {
  if (!isObject(doc)) return [];
  switch (record.format) {
    case 'OPENVEX':
      return readOpenVex(record, doc, statementBudget());
    case 'CSAF_VEX':
      return readCsafVex(record, doc, statementBudget());
    case 'CYCLONEDX_VEX':
      return readCycloneDxVex(record, doc, statementBudget());
    default:
      return [];
  }
}

/** A record whose document could not be read, and why. */
export interface SkippedVexRecord {
  recordId: string;
  reason: string;
}

/**
 * Statements of every record, record by record. A document that breaks the JSON limits, is not JSON
 * or trips a reader is skipped: it is appended to `skipped` when the caller passes a list to count them.
 */
export function readVexRecords(
  records: readonly VexRecordWithRaw[],
  limits: JsonLimits = DEFAULT_JSON_LIMITS,
  skipped?: SkippedVexRecord[],
): VexStatement[] {
  const out: VexStatement[] = [];
  for (const record of records) {
    try {
      // AOC keeps the bytes as received, byte order mark included; JSON.parse refuses one.
      const text = record.raw.startsWith('\uFEFF') ? record.raw.slice(1) : record.raw;
      out.push(...readVexStatements(record, parseJsonWithLimits(text, limits)));
    } catch (error) {
      skipped?.push({ recordId: record.recordId, reason: (error as Error).message });
    }
  }
  return out;
}
