// SPDX-License-Identifier: Apache-2.0
// Mirror bundle trust (spec §2.6): the Ed25519 mirror signer, DSSE envelopes, TUF metadata, the time
// anchor, and their offline verification. Pure apart from verifyTrust, which reads the bundle directory.
export { MIRROR_BUNDLE_PAYLOAD_TYPE, MIRROR_MANIFEST_PAYLOAD_TYPE, signMirrorDsse } from './dsse.ts';
export { mirrorJsonBytes } from './json.ts';
export type { MirrorSigner } from './signer.ts';
export { mirrorSignerFromEnv, mirrorSignerFromPrivateKey } from './signer.ts';
export type { TimeAnchor, TimeAnchorToken } from './time-anchor.ts';
export {
  buildTimeAnchor,
  TIME_ANCHOR_FORMAT,
  TIME_ANCHOR_PATH,
  TIME_ANCHOR_SOURCE,
  TIME_ANCHOR_TOKEN_PATH,
  TIME_ANCHOR_TOKEN_PAYLOAD_TYPE,
} from './time-anchor.ts';
export type { TufKey, TufMetadataInput, TufTarget } from './tuf.ts';
export { buildTufMetadata, TUF_DIR, tufKeyOf, tufPublicKeyPath } from './tuf.ts';
export type { TrustCheck, TrustFiles, VerifyTrustOptions } from './verify.ts';
export { loadTrustedRootKeys, verifyTrust } from './verify.ts';
