// SPDX-License-Identifier: Apache-2.0
// @stella/aoc: raw advisory and VEX ingestion under the Aggregation-Only Contract.

export { AocErrors } from './errors.ts';
export type * from './formats/types.ts';
export type { AocEnvelope, RawStore, SignatureInfo, SourceInfo, UpstreamInfo } from './ingest/envelope.ts';
export type { AocViolation } from './ingest/guard.ts';
export { guardEnvelope } from './ingest/guard.ts';
export { aocModule, aocService } from './module.ts';
export type { RawExportRecord, RawSelectors } from './read/export-feed.ts';
export { countRawForExport, streamRawForExport } from './read/export-feed.ts';
export type { VulnerableSymbols } from './read/symbols.ts';
export { vulnerableSymbols } from './read/symbols.ts';
