// SPDX-License-Identifier: Apache-2.0
// The manifest and provenance phases: export.json from the adapter's files and counts, then
// provenance.json naming export.json and the adapter's materials. Time enters only as the bundle's
// fixed mtime (SOURCE_DATE_EPOCH, else the newest exported record), so a replay gives the same bytes.
import { STELLA_VERSION, sha256Digest } from '@stella/core';
import type { AdapterOutput } from '../adapters/adapter.ts';
import type { BundleCodec, BundleCompression } from '../bundle/index.ts';
import {
  buildManifest,
  buildProvenance,
  type ContentEntry,
  type ManifestInput,
  type PolicySnapshotRef,
} from '../manifest.ts';
import { loadRunSnapshot } from '../service/submission.ts';
import { fixedTime } from './contents.ts';
import type { RunContext } from './context.ts';
import type { RunEncryption } from './encryption.ts';

export const SIGNING_ALGORITHM = 'ecdsa-p256-sha256';

/** How the bundle is written: fixed mtime and compression, both recorded in the manifest. */
export interface BundleSettings {
  mtime: Date;
  codec: BundleCodec;
  /** What the tar writer is given. */
  compression: BundleCompression;
  /** What export.json and provenance.json record: the codec, level and the library that compressed. */
  recorded: ManifestInput['compression'];
}

export interface BuiltManifest {
  bytes: Buffer;
  digest: string;
  exportId: string;
  profile: ManifestInput['profile'];
  contents: ContentEntry[];
  policySnapshot: PolicySnapshotRef | undefined;
}

export function bundleSettings(ctx: RunContext, output: AdapterOutput): BundleSettings {
  const mtime = fixedTime(ctx) ?? new Date(output.newest ?? 0);
  mtime.setUTCMilliseconds(0);
  const requested = ctx.profile.spec.compression;
  const codec = requested?.codec ?? 'zstd';
  const level = codec === 'none' ? undefined : (requested?.level ?? (codec === 'zstd' ? 3 : 6));
  const compression = { codec, ...(level === undefined ? {} : { level }) };
  const implementation =
    codec === 'zstd'
      ? `zstd ${process.versions.zstd ?? '?'}`
      : codec === 'gzip'
        ? `zlib ${process.versions.zlib}`
        : 'none';
  return { mtime, codec, compression, recorded: { ...compression, implementation } };
}

/** The run's policy snapshot as export.json and provenance.json name it, when it has one. */
async function policySnapshotRef(ctx: RunContext): Promise<PolicySnapshotRef | undefined> {
  const id = ctx.run.policy_snapshot_id;
  if (!id) return undefined;
  const snapshot = await loadRunSnapshot(ctx.services.db, ctx.tenant, id);
  return { id: snapshot.id, name: snapshot.name, signerKeyid: snapshot.signerKeyid };
}

/** export.json: the profile revision (by digest), selectors, the adapter's files and counts, the signing key and policy snapshot. */
export async function writeManifest(
  ctx: RunContext,
  output: AdapterOutput,
  settings: BundleSettings,
  keyid: string,
): Promise<BuiltManifest> {
  const { run, profile } = ctx;
  const profileRef = {
    kind: profile.spec.kind,
    variant: profile.spec.variant,
    name: profile.metadata.name,
    revision: `r${run.profile_revision}`,
    digest: (await ctx.services.service.getProfile(ctx.tenant, run.profile_name, run.profile_revision)).documentDigest,
  };
  const signatureOf = new Map((output.detachedSignatures ?? []).map((d) => [d.of, d.path]));
  const contents = output.files.map((f) => ({
    path: f.path,
    digest: f.digest,
    bytes: f.size,
    records: f.records,
    contentType: f.contentType,
    ...(signatureOf.has(f.path) ? { signature: signatureOf.get(f.path) } : {}),
  }));
  const policySnapshot = await policySnapshotRef(ctx);
  const manifest = buildManifest({
    tenant: ctx.tenant,
    profile: profileRef,
    selectors: ctx.selectors,
    generatedAt: settings.mtime.toISOString(),
    contents,
    compression: settings.recorded,
    counts: output.counts,
    distribution: [...profile.spec.distribution].sort(),
    signing: { keyid, algorithm: SIGNING_ALGORITHM },
    policySnapshot,
    delta: output.delta,
  });
  return {
    bytes: manifest.bytes,
    digest: sha256Digest(manifest.bytes),
    exportId: manifest.exportId,
    profile: profileRef,
    contents,
    policySnapshot,
  };
}

/** provenance.json: every bundle file and export.json as subjects, the adapter's materials as the one dependency. */
export function writeProvenance(
  ctx: RunContext,
  output: AdapterOutput,
  settings: BundleSettings,
  manifest: BuiltManifest,
  encryption: RunEncryption | undefined,
): { bytes: Buffer; digest: string } {
  const bytes = buildProvenance({
    exportId: manifest.exportId,
    tenant: ctx.tenant,
    profile: manifest.profile,
    selectors: ctx.selectors,
    compression: settings.recorded,
    subjects: [
      ...manifest.contents.map((c) => ({ name: c.path, digest: c.digest })),
      { name: 'export.json', digest: manifest.digest },
    ],
    materials: output.materials,
    policySnapshot: manifest.policySnapshot,
    toolVersions: {
      stella: STELLA_VERSION,
      node: process.versions.node,
      zstd: process.versions.zstd ?? '',
      zlib: process.versions.zlib ?? '',
    },
    encryption: encryption?.record,
  });
  return { bytes, digest: sha256Digest(bytes) };
}
