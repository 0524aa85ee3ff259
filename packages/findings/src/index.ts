// SPDX-License-Identifier: Apache-2.0
// @stella/findings: version ordering per ecosystem and SBOM reading today; findings, matching and
// policy next (issue 13).
export { FindingsErrors } from './errors.ts';
export { findingsModule } from './module.ts';
export type { ParsedSbom, SbomComponent, SbomEdge, SbomFormat, SbomIssue } from './sbom/model.ts';
export { parseSbom } from './sbom/parse.ts';
export type { EcosystemDescription, Ordering, VersionComparator } from './versions/index.ts';
export {
  checkVersion,
  compareVersions,
  isSupportedEcosystem,
  supportedEcosystems,
  versionComparator,
} from './versions/index.ts';
