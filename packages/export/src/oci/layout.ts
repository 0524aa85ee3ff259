// SPDX-License-Identifier: Apache-2.0
// OCI image layout writer (image-spec image-layout.md): oci-layout, index.json naming the manifest by tag
// (org.opencontainers.image.ref.name, which skopeo and ORAS resolve `DIR:TAG` through) and
// blobs/sha256/<hex>. Blobs are streamed and re-hashed on the way in, so a layout never holds a blob whose
// name is not its digest.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { canonicalJson, Errors, StellaError, sha256Digest } from '@stella/core';
import {
  type ArtifactManifest,
  assertDigest,
  manifestReferences,
  OCI_EMPTY_BLOB,
  OCI_EMPTY_DIGEST,
  OCI_INDEX_MEDIA_TYPE,
  type OciDescriptor,
} from './manifest.ts';

export const OCI_REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

export interface OciBlob {
  digest: string;
  size: number;
  /** A file path (streamed) or the bytes themselves. */
  source: string | Uint8Array;
}

export interface OciArtifact {
  manifest: ArtifactManifest;
  /** Every layer the manifest names; the empty config blob is added by the writers. */
  blobs: readonly OciBlob[];
}

// The distribution spec's tag grammar; skopeo and registries reject anything else.
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export function assertTag(tag: string): void {
  if (!TAG_RE.test(tag)) {
    throw new StellaError(
      Errors.validation,
      `OCI tag ${JSON.stringify(tag)} is invalid: use up to 128 letters, digits, "_", "." and "-", not starting with "." or "-"`,
    );
  }
}

/**
 * Writes the artifact into `dir` (created when missing) as an OCI image layout whose index.json names
 * exactly this manifest under `tag`. index.json is written last, so an interrupted write leaves no index.
 */
export async function writeOciLayout(dir: string, artifact: OciArtifact & { tag: string }): Promise<void> {
  assertTag(artifact.tag);
  const { manifest } = artifact;
  const references = manifestReferences(manifest.bytes);
  const blobs = blobsFor(artifact, references.layers);
  const blobDir = join(dir, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });
  await writeFile(join(dir, 'oci-layout'), `${canonicalJson({ imageLayoutVersion: '1.0.0' })}`);
  for (const blob of blobs) await writeBlob(blobDir, blob);
  await writeBlob(blobDir, { digest: manifest.digest, size: manifest.bytes.length, source: manifest.bytes });
  const descriptor: OciDescriptor = {
    mediaType: manifest.mediaType,
    digest: manifest.digest,
    size: manifest.bytes.length,
    ...(references.artifactType === undefined ? {} : { artifactType: references.artifactType }),
    annotations: { [OCI_REF_NAME_ANNOTATION]: artifact.tag },
  };
  const index = { schemaVersion: 2, mediaType: OCI_INDEX_MEDIA_TYPE, manifests: [descriptor] };
  const indexTemp = join(dir, '.index.json.tmp');
  await writeFile(indexTemp, canonicalJson(index));
  await rename(indexTemp, join(dir, 'index.json'));
}

/**
 * The blobs to ship for a manifest: the empty config blob, then one blob per layer, in layer order.
 * Throws ERR_VALIDATION when a layer has no blob or a blob is not named by the manifest.
 */
export function blobsFor(artifact: OciArtifact, layers: readonly OciDescriptor[]): OciBlob[] {
  const byDigest = new Map<string, OciBlob>();
  for (const blob of artifact.blobs) {
    assertDigest(blob.digest, 'blob digest');
    byDigest.set(blob.digest, blob);
  }
  const out: OciBlob[] = [{ digest: OCI_EMPTY_DIGEST, size: OCI_EMPTY_BLOB.length, source: OCI_EMPTY_BLOB }];
  const seen = new Set<string>([OCI_EMPTY_DIGEST]);
  for (const layer of layers) {
    const blob = byDigest.get(layer.digest);
    if (blob === undefined) {
      throw new StellaError(Errors.validation, `no blob given for layer ${layer.digest} of the OCI manifest`);
    }
    if (blob.size !== layer.size) {
      throw new StellaError(
        Errors.validation,
        `blob ${layer.digest} is declared as ${blob.size} bytes but the manifest says ${layer.size}`,
      );
    }
    if (!seen.has(blob.digest)) out.push(blob);
    seen.add(blob.digest);
  }
  for (const digest of byDigest.keys()) {
    if (!seen.has(digest)) {
      throw new StellaError(Errors.validation, `blob ${digest} is not referenced by the OCI manifest`);
    }
  }
  return out;
}

async function writeBlob(blobDir: string, blob: OciBlob): Promise<void> {
  const hex = blob.digest.slice('sha256:'.length);
  const target = join(blobDir, hex);
  const temp = join(blobDir, `.${hex}.tmp`);
  try {
    if (typeof blob.source === 'string') {
      const hash = createHash('sha256');
      let size = 0;
      const hashing = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          size += chunk.length;
          done(null, chunk);
        },
      });
      await pipeline(createReadStream(blob.source), hashing, createWriteStream(temp));
      assertContent(blob, `sha256:${hash.digest('hex')}`, size);
    } else {
      assertContent(blob, sha256Digest(blob.source), blob.source.length);
      await writeFile(temp, blob.source);
    }
    await rename(temp, target);
  } finally {
    await rm(temp, { force: true });
  }
}

function assertContent(blob: OciBlob, digest: string, size: number): void {
  const where = typeof blob.source === 'string' ? `file ${blob.source}` : 'in-memory blob';
  if (digest !== blob.digest || size !== blob.size) {
    throw new StellaError(
      Errors.validation,
      `${where} is ${digest} (${size} bytes), not the declared ${blob.digest} (${blob.size} bytes)`,
    );
  }
}
