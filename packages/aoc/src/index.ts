// SPDX-License-Identifier: Apache-2.0
// @stella/aoc: raw advisory and VEX ingestion under the Aggregation-Only Contract.
export type { AocEnvelope, RawStore, SignatureInfo, SourceInfo, UpstreamInfo } from './envelope.ts';
export { AocErrors } from './errors.ts';
export type { RawExportRecord, RawSelectors } from './export-feed.ts';
export { countRawForExport, streamRawForExport } from './export-feed.ts';
export type * from './formats/types.ts';
export type { AocViolation } from './guard.ts';
export { guardEnvelope } from './guard.ts';
export { aocModule, aocService } from './module.ts';
export type { VulnerableSymbols } from './symbols.ts';
export { vulnerableSymbols } from './symbols.ts';
