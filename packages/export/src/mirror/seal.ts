// SPDX-License-Identifier: Apache-2.0
// The mirror's own trust files (spec §2.6, issue 15 item 3), staged after the payload and before
// export.json, so export.json (signed with the tenant's export-center key) lists and hashes them too:
//   mirror/manifest.json       every payload file with its sha256 and size
//   mirror/bundle.json         what the bundle is: format, mode, base, counts, tombstones, data time
//   mirror/*.dsse.json         DSSE envelopes over both (payload types ...mirror.manifest+json, ...mirror.bundle+json)
//   time-anchor.json (+ token) the data time, signed, so an importer can bound staleness
//   tuf/{root,1.root,targets,snapshot,timestamp}.json, tuf/keys/<keyid>.pub
// All signed with the mirror key: MIRROR_SIGN_KEY_B64 (export.mirror.signPrivateKey) when set, else
// the tenant's platform key of purpose `mirror`; export.mirror.requireProdSigning refuses the latter.
// Every time in them is the bundle's data time, never the wall clock, and Ed25519 is deterministic:
// the same records give the same bytes, so the export id (a hash over the contents) stays stable.
import { coerceError, StellaError } from '@stella/core';
import type { AdapterOutput, SerialiseContext, StagedFile } from '../adapters/adapter.ts';
import type { PayloadWriter } from '../adapters/payload.ts';
import { ExportErrors } from '../errors.ts';
import {
  buildTimeAnchor,
  buildTufMetadata,
  MIRROR_BUNDLE_PAYLOAD_TYPE,
  MIRROR_MANIFEST_PAYLOAD_TYPE,
  type MirrorSigner,
  mirrorJsonBytes,
  mirrorSignerFromEnv,
  signMirrorDsse,
  TIME_ANCHOR_PATH,
  TIME_ANCHOR_TOKEN_PATH,
} from './trust/index.ts';

export const MIRROR_MANIFEST_PATH = 'mirror/manifest.json';
export const MIRROR_MANIFEST_DSSE_PATH = 'mirror/manifest.dsse.json';
export const MIRROR_BUNDLE_PATH = 'mirror/bundle.json';
export const MIRROR_BUNDLE_DSSE_PATH = 'mirror/bundle.dsse.json';
const DAY_MS = 86_400_000;

/** The key that signs the mirror's trust files; ERR_EXPORT_005 (errorCode=signing) when it cannot be had. */
async function mirrorSigner(context: SerialiseContext): Promise<MirrorSigner> {
  const { signPrivateKey, requireProdSigning } = context.config.mirror;
  try {
    const configured = mirrorSignerFromEnv({ MIRROR_SIGN_KEY_B64: signPrivateKey });
    if (configured) return configured;
  } catch (error) {
    throw new StellaError(
      ExportErrors.signing,
      `export.mirror.signPrivateKey (MIRROR_SIGN_KEY_B64): ${coerceError(error).message}`,
    );
  }
  if (requireProdSigning) {
    throw new StellaError(
      ExportErrors.signing,
      'export.mirror.requireProdSigning (REQUIRE_PROD_SIGNING=1) is set and no mirror key is configured: set MIRROR_SIGN_KEY_B64 to the base64 of an Ed25519 private key PEM',
    );
  }
  try {
    return await context.platformSigner('mirror', 'ed25519');
  } catch (error) {
    throw new StellaError(
      ExportErrors.signing,
      `tenant mirror signing key unavailable: ${coerceError(error).message}`,
      {
        cause: error,
      },
    );
  }
}

export interface SealInput {
  mode: 'full' | 'delta';
  base: { exportId: string; manifestDigest: string } | undefined;
  tombstones: number;
  counts: Record<string, { records: number; carried: number; tombstones: number }>;
  /** The bundle's data time (export.json generatedAt). */
  dataTime: Date;
}

const hex = (digest: string) => digest.replace(/^sha256:/, '');

/** Stages the trust files over `output`'s files and returns them, in path order. */
export async function sealMirror(
  context: SerialiseContext,
  writer: PayloadWriter,
  output: AdapterOutput,
  input: SealInput,
  format: string,
): Promise<StagedFile[]> {
  const signer = await mirrorSigner(context);
  const manifest = mirrorJsonBytes({
    format,
    files: [...output.files]
      .sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)))
      .map((f) => ({ path: f.path, sha256: hex(f.digest), bytes: f.size })),
  });
  const generatedAt = input.dataTime.toISOString();
  const bundle = mirrorJsonBytes({
    format,
    mode: input.mode,
    tenant: context.tenant,
    generatedAt,
    ...(input.base ? { base: input.base } : {}),
    counts: input.counts,
    tombstones: input.tombstones,
  });
  const anchor = buildTimeAnchor(input.dataTime, signer);
  const trustFiles = new Map<string, Uint8Array>([
    [MIRROR_MANIFEST_PATH, manifest],
    [MIRROR_MANIFEST_DSSE_PATH, signMirrorDsse(signer, MIRROR_MANIFEST_PAYLOAD_TYPE, manifest)],
    [MIRROR_BUNDLE_PATH, bundle],
    [MIRROR_BUNDLE_DSSE_PATH, signMirrorDsse(signer, MIRROR_BUNDLE_PAYLOAD_TYPE, bundle)],
    [TIME_ANCHOR_PATH, anchor.bytes],
    [TIME_ANCHOR_TOKEN_PATH, anchor.tokenBytes],
  ]);
  const tuf = buildTufMetadata({
    targets: [MIRROR_MANIFEST_PATH, MIRROR_BUNDLE_PATH, TIME_ANCHOR_PATH, TIME_ANCHOR_TOKEN_PATH].map((path) => ({
      path,
      bytes: trustFiles.get(path)!,
    })),
    signer,
    expires: new Date(input.dataTime.getTime() + context.config.mirror.tufExpiryDays * DAY_MS),
  });
  for (const [path, bytes] of tuf) trustFiles.set(path, bytes);
  const staged: StagedFile[] = [];
  for (const path of [...trustFiles.keys()].sort()) {
    const file = writer.stage(path);
    await file.write(Buffer.from(trustFiles.get(path)!).toString('utf8'));
    staged.push(await file.close(0, path.endsWith('.pub') ? 'application/x-pem-file' : 'application/json'));
  }
  return staged;
}
