// SPDX-License-Identifier: Apache-2.0
// The one door to upstream signature checks: OpenPGP detached (CSAF), DSSE (OpenVEX), and the policy.
export { type DsseDocumentVerification, verifyDsseDocument } from './dsse.ts';
export { type PgpVerification, verifyDetachedPgp } from './pgp.ts';
export {
  checkDeclaredDigest,
  type DeclaredDigest,
  evaluateSignature,
  type SignatureDecision,
  type SignatureFormat,
  type SignaturePolicy,
  type SignatureRecord,
  type SignatureResult,
} from './policy.ts';
