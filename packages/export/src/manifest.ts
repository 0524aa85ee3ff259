// SPDX-License-Identifier: Apache-2.0
// export.json (schemas/export-manifest.schema.json, manifest/v1alpha2) and provenance.json (an
// in-toto Statement v1 with a SLSA v1 predicate). Neither carries a run id or a wall-clock time, so
// the same profile revision, selectors and data give the same bytes; the run that made a bundle is
// recorded on the run, not in it.

import { canonicalDigest, canonicalJson } from '@stella/core';
import type { BundleEncryptionRecord, EncryptionRecord } from './crypto/index.ts';
import type { Selectors } from './selectors.ts';

export const MANIFEST_SCHEMA = 'https://stellaops.io/export-center/manifest/v1alpha2';
export const MANIFEST_VERSION = '1.1.0';
export const BUILDER_ID = 'https://stellaops.io/stella/export-center';

export interface ContentEntry {
  path: string;
  digest: string;
  bytes: number;
  records?: number;
  contentType?: string;
  /** A detached signature over this file (cosign sign-blob form), e.g. `signatures/trivy-db.sig` for trivy/db.bundle. */
  signature?: string;
}

/** The policy snapshot a run was submitted with, as the bundle records it (absent when it had none). */
export interface PolicySnapshotRef {
  /** The snapshot id: sha256 of the policy's canonical JSON. */
  id: string;
  name: string;
  /** The key that signed the snapshot's DSSE envelope (the tenant's findings-policy key). */
  signerKeyid: string;
}

export interface ManifestInput {
  tenant: string;
  profile: { kind: string; variant: string; name: string; revision: string; digest: string };
  selectors: Selectors;
  generatedAt: string;
  contents: ContentEntry[];
  compression: { codec: string; level?: number; implementation: string };
  counts: Record<string, number>;
  distribution: string[];
  signing: { keyid: string; algorithm: string };
  policySnapshot?: PolicySnapshotRef | undefined;
  /** A delta bundle's base and tombstones (spec §2.5 `delta{}`). */
  delta?: ManifestDelta | undefined;
}

export interface ManifestDelta {
  baseExportId: string;
  baseManifestDigest: string;
  tombstones: { id: string; store: string; supersededBy?: string }[];
}

/** The run's identity: profile revision, selectors, contents and, when it has one, its policy snapshot. */
export function rerunHash(
  input: Pick<ManifestInput, 'profile' | 'selectors' | 'contents' | 'policySnapshot' | 'delta'>,
): string {
  return canonicalDigest({
    profile: input.profile.digest,
    selectors: input.selectors,
    contents: input.contents.map((c) => ({ path: c.path, digest: c.digest })),
    // Only when set: bundles without a snapshot keep the hash (and export id) they always had.
    ...(input.policySnapshot ? { policySnapshotId: input.policySnapshot.id } : {}),
    // A delta is its changes relative to one base: the same changes on another base are another export.
    ...(input.delta ? { baseManifestDigest: input.delta.baseManifestDigest } : {}),
  });
}

/** export.json bytes and the deterministic export id derived from the rerun hash. */
export function buildManifest(input: ManifestInput): { bytes: Buffer; exportId: string; rerunHash: string } {
  const hash = rerunHash(input);
  const exportId = `exp-${hash.slice('sha256:'.length, 'sha256:'.length + 24)}`;
  const { digest: _digest, ...profile } = input.profile;
  const doc = {
    schema: MANIFEST_SCHEMA,
    version: MANIFEST_VERSION,
    exportId,
    profile,
    tenant: input.tenant,
    selectors: input.selectors,
    generatedAt: input.generatedAt,
    rerunHash: hash,
    contents: [...input.contents].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path))),
    compression: input.compression,
    counts: input.counts,
    distribution: input.distribution,
    signing: input.signing,
    ...(input.policySnapshot ? { policySnapshotId: input.policySnapshot.id } : {}),
    ...(input.delta ? { delta: input.delta } : {}),
  };
  return { bytes: Buffer.from(`${canonicalJson(doc)}\n`, 'utf8'), exportId, rerunHash: hash };
}

export interface ProvenanceInput {
  exportId: string;
  tenant: string;
  profile: ManifestInput['profile'];
  selectors: Selectors;
  compression: ManifestInput['compression'];
  subjects: { name: string; digest: string }[];
  /** The per-record materials file inside the bundle (provenance/materials.jsonl). */
  materials: { path: string; digest: string; records: number };
  policySnapshot?: PolicySnapshotRef | undefined;
  toolVersions: Record<string, string>;
  /** The run's encryption record (docs/encryption.md), as `internalParameters.environment.encryption`. */
  encryption?: EncryptionRecord | BundleEncryptionRecord | undefined;
}

/**
 * The policy snapshot as a resolved dependency: an input the build read, named by its id with the
 * id's hex as its sha256 (the id is the digest of the policy's canonical JSON), and the key that
 * signed it, so a verifier can match it to data/policy/snapshot.json or to the findings room's copy.
 */
function snapshotDependency(snapshot: PolicySnapshotRef) {
  return {
    name: snapshot.id,
    uri: `stella://policy_snapshot/${snapshot.id}`,
    digest: { sha256: snapshot.id.replace(/^sha256:/, '') },
    annotations: { policy: snapshot.name, signerKeyid: snapshot.signerKeyid },
  };
}

/**
 * provenance.json bytes. The exported records are materials too, but listing 100,000 of them here
 * would make the statement (and its DSSE envelope, which embeds it) grow with the export; they are
 * in provenance/materials.jsonl, which is named here by digest and is itself a subject. A run's
 * policy snapshot is the second resolved dependency.
 */
export function buildProvenance(input: ProvenanceInput): Buffer {
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [...input.subjects]
      .sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
      .map((s) => ({ name: s.name, digest: { sha256: s.digest.replace(/^sha256:/, '') } })),
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: `https://stellaops.io/export-center/${input.profile.kind}-${input.profile.variant}/v1`,
        externalParameters: {
          profile: { name: input.profile.name, revision: input.profile.revision, digest: input.profile.digest },
          selectors: input.selectors,
        },
        internalParameters: {
          tenant: input.tenant,
          compression: input.compression,
          ...(input.encryption ? { environment: { encryption: input.encryption } } : {}),
        },
        resolvedDependencies: [
          {
            name: input.materials.path,
            uri: `stella://exports/${input.exportId}/${input.materials.path}`,
            digest: { sha256: input.materials.digest.replace(/^sha256:/, '') },
            annotations: { records: input.materials.records, format: 'one SLSA ResourceDescriptor per line' },
          },
          ...(input.policySnapshot ? [snapshotDependency(input.policySnapshot)] : []),
        ],
      },
      runDetails: {
        builder: { id: BUILDER_ID, version: input.toolVersions },
        metadata: { invocationId: input.exportId },
      },
    },
  };
  return Buffer.from(`${canonicalJson(statement)}\n`, 'utf8');
}
