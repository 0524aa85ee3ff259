// SPDX-License-Identifier: Apache-2.0
// @stella/export: the Export Center — profiles, runs, deterministic signed bundles, distribution,
// retention and offline verification.
export type { BundleCodec, BundleEntry, VerifyReport, WrittenBundle } from './bundle/index.ts';
export {
  bundleExtension,
  bundleMediaType,
  decryptBundle,
  openBundle,
  verifyBundle,
  writeBundle,
} from './bundle/index.ts';
export type { DistributionDriver, DistributionInput, DistributionResult } from './distribution/index.ts';
export { ExportErrors, runErrorCode } from './errors.ts';
export type { MirrorImportOptions, MirrorImportReceipt } from './mirror/import.ts';
export { importMirrorBundle } from './mirror/import.ts';
export { exportModule, exportOf } from './module.ts';
export type { ArtifactManifest, ArtifactManifestInput, OciArtifact, OciBlob } from './oci/index.ts';
export { buildArtifactManifest, OCI_CREATED_ANNOTATION, pushArtifact, writeOciLayout } from './oci/index.ts';
export type { ExportProfile } from './profiles/schema.ts';
export { ExportProfileSchema, profileProblems } from './profiles/schema.ts';
export type { ExportService, ProfileView, RunView } from './service/index.ts';
