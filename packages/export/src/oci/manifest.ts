// SPDX-License-Identifier: Apache-2.0
// OCI image-spec 1.1 artifact manifests (the shape `oras push --artifact-type` produces): an empty config
// descriptor, titled layers and fixed annotations, serialised canonically so equal inputs give one digest.
import { canonicalJson, Errors, type Sha256Digest, StellaError, sha256Digest } from '@stella/core';

export const OCI_MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';
export const OCI_EMPTY_MEDIA_TYPE = 'application/vnd.oci.empty.v1+json';
/** The empty JSON object `{}`: the config blob of every artifact manifest, and the blob behind it. */
export const OCI_EMPTY_BLOB = Buffer.from('{}');
export const OCI_EMPTY_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';
export const OCI_TITLE_ANNOTATION = 'org.opencontainers.image.title';
export const OCI_CREATED_ANNOTATION = 'org.opencontainers.image.created';

export interface OciDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ArtifactLayer {
  digest: string;
  size: number;
  mediaType: string;
  /** Becomes `org.opencontainers.image.title`, the file name ORAS and Trivy save the layer under. */
  title: string;
}

export interface ArtifactManifestInput {
  artifactType: string;
  layers: readonly ArtifactLayer[];
  /** e.g. `org.opencontainers.image.created` — from the input (the fixed export time), never the wall clock. */
  annotations?: Record<string, string>;
}

export interface ArtifactManifest {
  /** Canonical JSON: sorted keys, no whitespace. */
  bytes: Buffer;
  digest: Sha256Digest;
  mediaType: typeof OCI_MANIFEST_MEDIA_TYPE;
}

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;
// RFC 6838 type/subtype with an optional +suffix; registries reject anything looser.
const MEDIA_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

export function buildArtifactManifest(input: ArtifactManifestInput): ArtifactManifest {
  assertMediaType(input.artifactType, 'artifactType');
  if (input.layers.length === 0) throw invalid('an OCI artifact needs at least one layer');
  const layers = input.layers.map((layer, i): OciDescriptor => {
    assertDescriptor(layer, `layers[${i}]`);
    if (layer.title === '' || layer.title.includes('/')) {
      throw invalid(`layers[${i}].title must be a plain file name, got ${JSON.stringify(layer.title)}`);
    }
    return {
      mediaType: layer.mediaType,
      digest: layer.digest,
      size: layer.size,
      annotations: { [OCI_TITLE_ANNOTATION]: layer.title },
    };
  });
  const annotations = input.annotations ?? {};
  for (const [key, value] of Object.entries(annotations)) {
    if (key === '' || typeof value !== 'string') throw invalid(`annotation ${JSON.stringify(key)} must be a string`);
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST_MEDIA_TYPE,
    artifactType: input.artifactType,
    config: { mediaType: OCI_EMPTY_MEDIA_TYPE, digest: OCI_EMPTY_DIGEST, size: OCI_EMPTY_BLOB.length },
    layers,
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
  const bytes = Buffer.from(canonicalJson(manifest), 'utf8');
  return { bytes, digest: sha256Digest(bytes), mediaType: OCI_MANIFEST_MEDIA_TYPE };
}

/** Reads the descriptors a manifest references (config, then layers), for writers that must ship them. */
export function manifestReferences(manifestBytes: Uint8Array): {
  artifactType: string | undefined;
  config: OciDescriptor;
  layers: OciDescriptor[];
} {
  let parsed: { artifactType?: unknown; config?: OciDescriptor; layers?: OciDescriptor[] };
  try {
    parsed = JSON.parse(Buffer.from(manifestBytes).toString('utf8'));
  } catch (error) {
    throw invalid('the OCI manifest is not JSON', error);
  }
  if (parsed.config === undefined || !Array.isArray(parsed.layers)) {
    throw invalid('the OCI manifest has no config or layers');
  }
  assertDescriptor(parsed.config, 'config');
  for (const [i, layer] of parsed.layers.entries()) assertDescriptor(layer, `layers[${i}]`);
  return {
    artifactType: typeof parsed.artifactType === 'string' ? parsed.artifactType : undefined,
    config: parsed.config,
    layers: parsed.layers,
  };
}

export function assertDigest(digest: string, where: string): void {
  if (!DIGEST_RE.test(digest))
    throw invalid(`${where} must be sha256:<64 lowercase hex>, got ${JSON.stringify(digest)}`);
}

function assertDescriptor(d: { digest: string; size: number; mediaType: string }, where: string): void {
  assertDigest(d.digest, `${where}.digest`);
  if (!Number.isSafeInteger(d.size) || d.size < 0) throw invalid(`${where}.size must be a byte count, got ${d.size}`);
  assertMediaType(d.mediaType, `${where}.mediaType`);
}

function assertMediaType(mediaType: string, where: string): void {
  if (!MEDIA_TYPE_RE.test(mediaType)) {
    throw invalid(`${where} must be a media type like application/vnd.example+json, got ${JSON.stringify(mediaType)}`);
  }
}

function invalid(message: string, cause?: unknown): StellaError {
  return new StellaError(Errors.validation, message, cause === undefined ? {} : { cause });
}
