// SPDX-License-Identifier: Apache-2.0
// Distribution drivers for export runs: `object` (S3-compatible bucket) and `oci` (registry). A driver
// exists only when its target is configured; `http` needs none (the bundle is always downloadable).
import type { ExportConfig } from '../config.ts';
import { createObjectDriver, type ObjectDriverOptions } from './object.ts';
import { createOciDriver, type OciDriverOptions } from './oci.ts';
import type { DistributionDriver } from './types.ts';

export { EXPORT_ARTIFACT_TYPE, EXPORT_MANIFEST_MEDIA_TYPE, exportRepository } from './oci.ts';
export type { DistributionArtifact, DistributionDriver, DistributionInput, DistributionResult } from './types.ts';
export type { ObjectDriverOptions, OciDriverOptions };
export { createObjectDriver, createOciDriver };

export function createDistributionDrivers(config: ExportConfig): {
  object?: DistributionDriver;
  oci?: DistributionDriver;
} {
  return {
    ...(config.objectStore.url === '' ? {} : { object: createObjectDriver(config.objectStore) }),
    ...(config.oci.registry === '' ? {} : { oci: createOciDriver(config.oci) }),
  };
}
