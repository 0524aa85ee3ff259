// SPDX-License-Identifier: Apache-2.0
// The sign phase: the tenant's export-center key signs export.json and provenance.json (DSSE and a
// cosign-style blob signature), and checksums.txt lists every checksummed file of the bundle.
// Files an adapter asks to have signed on their own (Trivy's db.bundle) get a detached signature
// beside them. Either failure is ERR_EXPORT_005, which the runbook reports as errorCode=signing.
import { coerceError, StellaError } from '@stella/core';
import type { PlatformSigner } from '@stella/platform';
import type { AdapterOutput } from '../adapters/adapter.ts';
import {
  type BundleFile,
  checksumsFile,
  comparePaths,
  detachedSignature,
  signBundleManifests,
} from '../bundle/index.ts';
import { ExportErrors } from '../errors.ts';
import type { RunContext } from './context.ts';
import type { BuiltManifest } from './manifests.ts';

export const SIGNING_PURPOSE = 'export-center';

/** The tenant's signing key, created on first use; needed before export.json, which names it. */
export async function tenantSigner(ctx: RunContext): Promise<PlatformSigner> {
  try {
    return await ctx.services.signing.getSigner(ctx.tenant, SIGNING_PURPOSE, 'ecdsa-p256');
  } catch (error) {
    throw new StellaError(ExportErrors.signing, `tenant signing key unavailable: ${coerceError(error).message}`, {
      cause: error,
    });
  }
}

export interface SignedManifests {
  /** signatures/*: the public key, both DSSE envelopes and the detached signature of export.json. */
  signatures: BundleFile[];
  /** The worker's own small files, written into the bundle from memory. */
  files: BundleFile[];
}

export function signManifests(
  manifest: BuiltManifest,
  provenance: { bytes: Buffer; digest: string },
  signer: PlatformSigner,
  output: AdapterOutput,
): SignedManifests {
  let signatures: BundleFile[];
  try {
    signatures = [
      ...signBundleManifests(manifest.bytes, provenance.bytes, signer),
      ...(output.detachedSignatures ?? []).map((d) => detachedSignature(d.path, stagedDigest(output, d.of), signer)),
    ].sort((a, b) => comparePaths(a.path, b.path));
  } catch (error) {
    throw new StellaError(ExportErrors.signing, `signing export.json failed: ${coerceError(error).message}`, {
      cause: error,
    });
  }
  const checksums = checksumsFile([
    ...manifest.contents.map((c) => ({ path: c.path, digest: c.digest })),
    { path: 'export.json', digest: manifest.digest },
    { path: 'provenance.json', digest: provenance.digest },
  ]);
  return {
    signatures,
    files: [
      { path: 'export.json', bytes: manifest.bytes },
      { path: 'provenance.json', bytes: provenance.bytes },
      { path: 'checksums.txt', bytes: checksums },
      ...signatures,
    ],
  };
}

function stagedDigest(output: AdapterOutput, path: string): string {
  const file = output.files.find((f) => f.path === path);
  if (!file) throw new Error(`the adapter asked for a signature over ${path}, which it did not stage`);
  return file.digest;
}
