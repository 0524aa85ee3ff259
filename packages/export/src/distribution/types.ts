// SPDX-License-Identifier: Apache-2.0
// What an export run hands a distribution driver, and what the driver reports back for the run's
// distribution record.

export interface DistributionInput {
  tenant: string;
  profileName: string;
  exportId: string;
  runId: string;
  /** The fixed export time (ISO 8601), never the wall clock, so pushes of one export are identical. */
  createdAt: string;
  bundle: {
    /** The staged bundle file. */
    path: string;
    digest: string;
    bytes: number;
    mediaType: string;
    fileName: string;
  };
  /** export.json */
  manifest: { bytes: Uint8Array; digest: string };
  /** The format's own OCI artifact (Trivy's DB), which the `oci` driver pushes instead of the bundle. */
  artifact?: DistributionArtifact;
}

export interface DistributionArtifact {
  artifactType: string;
  layers: { path: string; digest: string; size: number; mediaType: string; title: string }[];
  /** The first is the one recorded as the run's target. */
  tags: readonly string[];
  created: string;
}

export interface DistributionResult {
  driver: 'object' | 'oci';
  /** Where the bundle now is: `s3://bucket/key` or `<host>/<repository>:<tag>@sha256:…`. */
  target: string;
  /** The bundle digest (object) or the OCI manifest digest (oci). */
  digest: string;
  seconds: number;
}

export interface DistributionDriver {
  readonly name: 'object' | 'oci';
  /** Fails with ERR_EXPORT_006 naming the target; an abort through `signal` rethrows its reason. */
  push(input: DistributionInput, signal?: AbortSignal): Promise<DistributionResult>;
}
