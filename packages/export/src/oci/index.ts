// SPDX-License-Identifier: Apache-2.0
// OCI artifacts: image-spec 1.1 artifact manifests, the image layout writer and the registry push client,
// shared by the `oci` distribution driver and the Trivy DB exporter.

export type { OciArtifact, OciBlob } from './layout.ts';
export { OCI_REF_NAME_ANNOTATION, writeOciLayout } from './layout.ts';
export type { ArtifactLayer, ArtifactManifest, ArtifactManifestInput, OciDescriptor } from './manifest.ts';
export {
  buildArtifactManifest,
  OCI_CREATED_ANNOTATION,
  OCI_EMPTY_BLOB,
  OCI_EMPTY_DIGEST,
  OCI_EMPTY_MEDIA_TYPE,
  OCI_INDEX_MEDIA_TYPE,
  OCI_MANIFEST_MEDIA_TYPE,
  OCI_TITLE_ANNOTATION,
} from './manifest.ts';
export type { PushOptions, PushResult, RegistryTarget } from './registry.ts';
export { pushArtifact } from './registry.ts';
