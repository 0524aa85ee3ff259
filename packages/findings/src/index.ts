// SPDX-License-Identifier: Apache-2.0
// @stella/findings: version ordering per ecosystem, SBOM reading and storage, matching, the VEX and
// reachability join, the policy language, policy snapshots and stored findings (issue 13). The names
// below are the room's whole door.
export type { FindingsConfig } from './config.ts';
export { findingsConfig } from './config.ts';
export { FindingsErrors } from './errors.ts';
export type { EvidenceReport } from './evidence/join.ts';
export type { EvidenceFinding, FindingReachability, VexStatement } from './evidence/model.ts';
export type { ReachabilitySource, SubjectFact } from './evidence/reachability.ts';
export type { EvaluationRecord, ExportedSnapshot } from './export-feed.ts';
export {
  activePolicySnapshotId,
  countFindingsForExport,
  policySnapshotForExport,
  streamEvaluationsForExport,
} from './export-feed.ts';
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
export { createFindingsModule, findingsMigrations, RECOMPUTE_QUEUE } from './module.ts';
export { cvss2BaseScore, cvss3BaseScore } from './policy/cvss.ts';
export type { Policy, PolicyDecision } from './policy/index.ts';
export { canonicalPolicy, evaluateFinding, PolicySchema, parsePolicy } from './policy/index.ts';
export type { ParsedSbom, SbomComponent, SbomEdge, SbomFormat, SbomIssue } from './sbom/model.ts';
export { parseSbom } from './sbom/parse.ts';
export type { SbomComponentView, SbomProvenance, SbomRecord } from './sbom/record.ts';
export type { AdvisoryRecord, AdvisorySource } from './scan/advisories.ts';
export type { Finding, ScanReport } from './scan/scan.ts';
export { scanComponents } from './scan/scan.ts';
export type { FindingsDeps, FindingsService, IngestInput, IngestResult, Page } from './service.ts';
export { createFindingsService, SBOM_NAMESPACE } from './service.ts';
export { POLICY_PAYLOAD_TYPE } from './snapshots/service.ts';
export type { EcosystemDescription, Ordering, VersionComparator } from './versions/index.ts';
export {
  checkVersion,
  compareVersions,
  isSupportedEcosystem,
  supportedEcosystems,
  versionComparator,
} from './versions/index.ts';
