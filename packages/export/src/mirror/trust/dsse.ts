// SPDX-License-Identifier: Apache-2.0
// DSSE envelopes of a mirror bundle (spec §2.6): one over the manifest, one over the bundle meta. The
// envelope is written in the mirror JSON layout so a reviewer can read it; the signature is over
// PAE(payloadType, payload) only, so the layout does not affect verification.
import { type DsseEnvelope, pae } from '@stella/core';
import { mirrorJsonBytes } from './json.ts';
import { assertEd25519Signer, type MirrorSigner } from './signer.ts';

export const MIRROR_MANIFEST_PAYLOAD_TYPE = 'application/vnd.stellaops.mirror.manifest+json';
export const MIRROR_BUNDLE_PAYLOAD_TYPE = 'application/vnd.stellaops.mirror.bundle+json';

/** The DSSE envelope over `payload`, as file bytes (sorted keys, indent 2, trailing newline). */
export function signMirrorDsse(signer: MirrorSigner, payloadType: string, payload: Uint8Array): Buffer {
  assertEd25519Signer(signer);
  const envelope: DsseEnvelope = {
    payloadType,
    payload: Buffer.from(payload).toString('base64'),
    signatures: [{ keyid: signer.keyid, sig: signer.signBytes(pae(payloadType, payload)).toString('base64') }],
  };
  return mirrorJsonBytes(envelope);
}
