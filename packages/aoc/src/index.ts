// SPDX-License-Identifier: Apache-2.0
// @stella/aoc: raw advisory and VEX ingestion under the Aggregation-Only Contract. The names below are
// the room's whole door: the server module, the guard, and the reads other rooms (export, signals, findings) use.
export { AocErrors } from './errors.ts';
export type {
  ContentFormat,
  DocumentKind,
  Identifiers,
  Linkset,
  LinksetReference,
  LinksetSymbols,
  Recognised,
  SchemaAnnotation,
} from './formats/types.ts';
export type { AocEnvelope, RawStore, SignatureInfo, SourceInfo, UpstreamInfo } from './ingest/envelope.ts';
export type { AocViolation } from './ingest/guard.ts';
export { guardEnvelope } from './ingest/guard.ts';
export type { PreparedDocument } from './ingest/prepare.ts';
export type { ReplicaRecord, ReplicaResult } from './ingest/replicate.ts';
export { importRawRecords } from './ingest/replicate.ts';
export { aocModule, aocService } from './module.ts';
export type { PackageAdvisory, PackageRecord, PackageVex } from './read/advisories.ts';
export { advisoriesForPackages, packageKeys, vexForPackages } from './read/advisories.ts';
export type { RawExportRecord, RawSelectors, RevisionScope } from './read/export-feed.ts';
export {
  countRawForExport,
  forEachHeadLinePage,
  type RawExportLine,
  streamRawForExport,
} from './read/export-feed.ts';
export type { VulnerableSymbols } from './read/symbols.ts';
export { vulnerableSymbols } from './read/symbols.ts';
export { upstreamWithdrawn } from './read/withdrawn.ts';
export type { AocService } from './service.ts';
export { runConnector } from './sources/runner.ts';
export { AOC_RAW_TOPIC } from './topics.ts';
