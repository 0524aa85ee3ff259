// SPDX-License-Identifier: Apache-2.0
// The `oci` distribution driver: pushes the bundle and its export.json as one OCI artifact to
// `<repositoryPrefix>/<tenant>/<profile>:<exportId>` in the configured registry.
import { performance } from 'node:perf_hooks';
import { StellaError } from '@stella/core';
import type { ExportConfig } from '../config.ts';
import { ExportErrors } from '../errors.ts';
import { buildArtifactManifest, OCI_CREATED_ANNOTATION } from '../oci/manifest.ts';
import { pushArtifact } from '../oci/registry.ts';
import type { DistributionDriver, DistributionInput, DistributionResult } from './types.ts';

type OciConfig = ExportConfig['oci'];

export const EXPORT_ARTIFACT_TYPE = 'application/vnd.stellaops.export.v1+json';
export const EXPORT_MANIFEST_MEDIA_TYPE = 'application/vnd.stellaops.export.manifest.v1+json';
export const EXPORT_MANIFEST_TITLE = 'export.json';

export interface OciDriverOptions {
  /** Per-request timeout of the registry client (tests); 30 s by default. */
  timeoutMs?: number;
}

export function createOciDriver(config: OciConfig, options: OciDriverOptions = {}): DistributionDriver {
  return {
    name: 'oci',
    async push(input: DistributionInput, signal?: AbortSignal): Promise<DistributionResult> {
      const started = performance.now();
      const repository = exportRepository(config.repositoryPrefix, input.tenant, input.profileName);
      let manifest: ReturnType<typeof buildArtifactManifest>;
      try {
        manifest = buildArtifactManifest({
          artifactType: EXPORT_ARTIFACT_TYPE,
          layers: [
            {
              digest: input.bundle.digest,
              size: input.bundle.bytes,
              mediaType: input.bundle.mediaType,
              title: input.bundle.fileName,
            },
            {
              digest: input.manifest.digest,
              size: input.manifest.bytes.length,
              mediaType: EXPORT_MANIFEST_MEDIA_TYPE,
              title: EXPORT_MANIFEST_TITLE,
            },
          ],
          annotations: { [OCI_CREATED_ANNOTATION]: input.createdAt },
        });
      } catch (error) {
        // pushArtifact names the registry itself; a bundle it cannot describe fails the same way.
        throw new StellaError(
          ExportErrors.distribution,
          `OCI push to ${repository}:${input.exportId} failed: ${(error as Error).message}`,
          { cause: error },
        );
      }
      const result = await pushArtifact(
        config,
        repository,
        input.exportId,
        {
          manifest,
          blobs: [
            { digest: input.bundle.digest, size: input.bundle.bytes, source: input.bundle.path },
            { digest: input.manifest.digest, size: input.manifest.bytes.length, source: input.manifest.bytes },
          ],
        },
        { ...(signal ? { signal } : {}), ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) },
      );
      return {
        driver: 'oci',
        target: result.reference,
        digest: result.digest,
        seconds: (performance.now() - started) / 1000,
      };
    },
  };
}

/** `<prefix>/<tenant>/<profile>`, tolerating stray slashes around the configured prefix. */
export function exportRepository(prefix: string, tenant: string, profileName: string): string {
  return [prefix.replace(/^\/+|\/+$/g, ''), tenant, profileName].filter((part) => part !== '').join('/');
}
