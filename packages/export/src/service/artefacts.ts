// SPDX-License-Identifier: Apache-2.0
// A run's stored artefacts (the bundle, export.json, provenance.json), each with the error saying
// why it is not there, and the tenant's export-center keys that verify them.
import type { Readable } from 'node:stream';
import { StellaError } from '@stella/core';
import type { PublicSigningKey } from '@stella/platform';
import { ExportErrors } from '../errors.ts';
import { SIGNING_PURPOSE } from '../run/signing.ts';
import type { RunRow } from '../sql/runs.ts';
import type { ServiceCore } from './core.ts';
import { runOperations } from './runs.ts';

/** A run's bundle as the download route serves it. */
export interface RunBundle {
  size: number;
  digest: string | null;
  mediaType: string;
  fileName: string | null;
  /** The whole bundle (checked against its digest as it streams), or bytes start..end inclusive. */
  read(range?: { start: number; end: number }): Promise<Readable>;
}

/** The stored artefact of a run, or the error saying why there is none. */
function storedUri(run: RunRow, which: 'bundle_uri' | 'manifest_uri' | 'provenance_uri'): string {
  const uri = run[which];
  if (uri) return uri;
  if (run.status === 'expired') {
    throw new StellaError(
      ExportErrors.expired,
      `run ${run.run_id} expired: retention removed its artefacts; replay it`,
    );
  }
  throw new StellaError(
    ExportErrors.conflict,
    `run ${run.run_id} is ${run.status}; its bundle is available once it has succeeded`,
  );
}

/** export.json of a run; its ETag is the manifest digest. */
async function manifestOf(core: ServiceCore, tenant: string, runId: string): Promise<{ bytes: Buffer; etag: string }> {
  const run = await runOperations.runRow(core, tenant, runId);
  const uri = storedUri(run, 'manifest_uri');
  const bytes = await core.deps.blobs.forTenant(tenant).getBytes(uri);
  return { bytes, etag: `"${run.manifest_digest ?? uri}"` };
}

/** provenance.json of a run; its ETag is its CAS URI (the run keeps no separate digest for it). */
async function provenanceOf(
  core: ServiceCore,
  tenant: string,
  runId: string,
): Promise<{ bytes: Buffer; etag: string }> {
  const run = await runOperations.runRow(core, tenant, runId);
  const uri = storedUri(run, 'provenance_uri');
  const bytes = await core.deps.blobs.forTenant(tenant).getBytes(uri);
  return { bytes, etag: `"${uri}"` };
}

async function bundleOf(core: ServiceCore, tenant: string, runId: string): Promise<RunBundle> {
  const run = await runOperations.runRow(core, tenant, runId);
  const uri = storedUri(run, 'bundle_uri');
  const blobs = core.deps.blobs.forTenant(tenant);
  return {
    size: Number(run.bundle_bytes),
    digest: run.bundle_digest,
    mediaType: run.bundle_media_type ?? 'application/octet-stream',
    fileName: run.bundle_file_name,
    read: (range) => (range ? blobs.getRange(uri, range.start, range.end) : blobs.get(uri)),
  };
}

/** The tenant's export-center public keys; the key is created on first use, so an operator can pin it before the first run. */
async function signingKeys(core: ServiceCore, tenant: string): Promise<{ keys: PublicSigningKey[] }> {
  const { signing } = core.deps;
  await signing.getSigner(tenant, SIGNING_PURPOSE, 'ecdsa-p256');
  const keys = (await signing.listPublicKeys(tenant)).filter((k) => k.purpose === SIGNING_PURPOSE);
  return { keys };
}

/** The artefact half of the service; each takes the service core first (see bindCore). */
export const artefactOperations = { manifestOf, provenanceOf, bundleOf, signingKeys };
