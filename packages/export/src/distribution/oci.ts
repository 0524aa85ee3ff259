// SPDX-License-Identifier: Apache-2.0
// The `oci` distribution driver: pushes the bundle and its export.json as one OCI artifact to
// `<repositoryPrefix>/<tenant>/<profile>:<exportId>` in the configured registry, or, for a format
// with an artifact of its own (Trivy's DB), that artifact under the export id and its extra tags.
import { performance } from 'node:perf_hooks';
import { StellaError } from '@stella/core';
import type { ExportConfig } from '../config.ts';
import { ExportErrors } from '../errors.ts';
import type { OciArtifact } from '../oci/layout.ts';
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
      const { artifact, tags } = ociArtifactOf(input, repository);
      const pushOptions = {
        ...(signal ? { signal } : {}),
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      };
      // Every tag names the same manifest; the blobs are uploaded once (the registry has them after the first).
      const results = [];
      for (const tag of tags) results.push(await pushArtifact(config, repository, tag, artifact, pushOptions));
      return {
        driver: 'oci',
        target: results[0]!.reference,
        digest: results[0]!.digest,
        seconds: (performance.now() - started) / 1000,
      };
    },
  };
}

/**
 * What is pushed, under which tags: the format's own artifact when it has one (Trivy's DB, under the
 * export id and the schema version), else the bundle and its export.json under the export id.
 */
function ociArtifactOf(
  input: DistributionInput,
  repository: string,
): { artifact: OciArtifact; tags: readonly string[] } {
  try {
    if (input.artifact) {
      const { artifactType, layers, tags, created } = input.artifact;
      const manifest = buildArtifactManifest({
        artifactType,
        layers,
        annotations: { [OCI_CREATED_ANNOTATION]: created },
      });
      return {
        artifact: { manifest, blobs: layers.map((l) => ({ digest: l.digest, size: l.size, source: l.path })) },
        tags,
      };
    }
    const manifest = buildArtifactManifest({
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
    const blobs = [
      { digest: input.bundle.digest, size: input.bundle.bytes, source: input.bundle.path },
      { digest: input.manifest.digest, size: input.manifest.bytes.length, source: input.manifest.bytes },
    ];
    return { artifact: { manifest, blobs }, tags: [input.exportId] };
  } catch (error) {
    // pushArtifact names the registry itself; an artifact it cannot describe fails the same way.
    throw new StellaError(
      ExportErrors.distribution,
      `OCI push to ${repository}:${input.exportId} failed: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** `<prefix>/<tenant>/<profile>`, tolerating stray slashes around the configured prefix. */
export function exportRepository(prefix: string, tenant: string, profileName: string): string {
  return [prefix.replace(/^\/+|\/+$/g, ''), tenant, profileName].filter((part) => part !== '').join('/');
}
