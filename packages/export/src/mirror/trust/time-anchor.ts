// SPDX-License-Identifier: Apache-2.0
// The time anchor of a mirror bundle (spec §2.6, docs/airgap/time-anchor-schema.md): the time the
// bundle vouches for, so an offline importer can measure staleness. No Roughtime server or RFC 3161
// TSA is reachable offline, so the token is a DSSE envelope by the mirror key over the signing
// clock's reading: source 'local-clock', format 'dsse' (a documented deviation from the spec's enum).
import { sha256Hex } from '@stella/core';
import { signMirrorDsse } from './dsse.ts';
import { mirrorJsonBytes } from './json.ts';
import type { MirrorSigner } from './signer.ts';

export const TIME_ANCHOR_PATH = 'time-anchor.json';
export const TIME_ANCHOR_TOKEN_PATH = 'time-anchor.token.dsse.json';
export const TIME_ANCHOR_TOKEN_PAYLOAD_TYPE = 'application/vnd.stellaops.time-anchor.token+json';
export const TIME_ANCHOR_SOURCE = 'local-clock';
export const TIME_ANCHOR_FORMAT = 'dsse';

/** time-anchor.json: exactly these properties, as the schema allows no others. */
export interface TimeAnchor {
  /** RFC 3339, UTC. */
  anchorTime: string;
  source: string;
  format: string;
  /** sha256 hex of the token file's bytes. */
  tokenDigest: string;
  /** The keyid of the key that signed the token. */
  signatureFingerprint: string;
}

/** The token payload: what the signature vouches for. */
export interface TimeAnchorToken {
  anchorTime: string;
  source: string;
}

export function buildTimeAnchor(
  anchorTime: Date,
  signer: MirrorSigner,
): { anchor: TimeAnchor; bytes: Buffer; tokenBytes: Buffer } {
  if (Number.isNaN(anchorTime.getTime())) throw new Error('time anchor needs a valid date');
  const token: TimeAnchorToken = { anchorTime: anchorTime.toISOString(), source: TIME_ANCHOR_SOURCE };
  const tokenBytes = signMirrorDsse(signer, TIME_ANCHOR_TOKEN_PAYLOAD_TYPE, mirrorJsonBytes(token));
  const anchor: TimeAnchor = {
    anchorTime: token.anchorTime,
    source: TIME_ANCHOR_SOURCE,
    format: TIME_ANCHOR_FORMAT,
    tokenDigest: sha256Hex(tokenBytes),
    signatureFingerprint: signer.keyid,
  };
  return { anchor, bytes: mirrorJsonBytes(anchor), tokenBytes };
}
