// SPDX-License-Identifier: Apache-2.0
// @stella/findings: version ordering per ecosystem, SBOM reading and storage, OSV, CSAF, CVE 5 and NVD matching and scans
// today; VEX, reachability, policy and stored findings next (issue 13).
export type { FindingsConfig } from './config.ts';
export { findingsConfig } from './config.ts';
export { FindingsErrors } from './errors.ts';
export { csafFacts, matchCsaf } from './match/csaf.ts';
export { cve5Facts, matchCve5 } from './match/cve5.ts';
export { cpeAttributes, matchNvd, nvdFacts } from './match/nvd.ts';
export type {
  ComponentCoordinates,
  CsafMatchedRange,
  Cve5MatchedRange,
  MatchedRange,
  MatchOutcome,
  NvdMatchedRange,
  OsvMatchedRange,
  OsvPackage,
  RangeBounds,
} from './match/osv.ts';
export { fixedVersionsOf, matchOsv, osvPackagesOf } from './match/osv.ts';
export type { ComponentIdentity, SourceFacts } from './match/shared.ts';
export type { FindingsModuleOptions } from './module.ts';
export { createFindingsModule, findingsMigrations } from './module.ts';
export type { ParsedSbom, SbomComponent, SbomEdge, SbomFormat, SbomIssue } from './sbom/model.ts';
export { parseSbom } from './sbom/parse.ts';
export type { SbomComponentView, SbomProvenance, SbomRecord } from './sbom/record.ts';
export type { AdvisoryRecord, AdvisorySource } from './scan/advisories.ts';
export type { Finding, ScanReport } from './scan/scan.ts';
export { scanComponents } from './scan/scan.ts';
export type { FindingsDeps, FindingsService, IngestInput, IngestResult, Page } from './service.ts';
export { createFindingsService, SBOM_NAMESPACE } from './service.ts';
export type { EcosystemDescription, Ordering, VersionComparator } from './versions/index.ts';
export {
  checkVersion,
  compareVersions,
  isSupportedEcosystem,
  supportedEcosystems,
  versionComparator,
} from './versions/index.ts';
