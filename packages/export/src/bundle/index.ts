// SPDX-License-Identifier: Apache-2.0
// Deterministic signed export bundles: writing, signing, safe opening and offline verification.
export { hashFileStreaming } from './bundle-reader.ts';
export { checkLines, registerDecryptCommand, registerVerifyCommand } from './command.ts';
export type { DecryptedBundle } from './decrypt.ts';
export { decryptBundle, encryptionRecordOf, isAgeFile } from './decrypt.ts';
export type { BundleFormat, BundleLimits, OpenedBundle } from './extract.ts';
export { DEFAULT_BUNDLE_LIMITS, openBundle, readArchiveMembers, tarDigestOf } from './extract.ts';
export {
  CHECKSUMS_PATH,
  comparePaths,
  EXPORT_DSSE_PATH,
  EXPORT_MANIFEST_PATH,
  EXPORT_SIGNATURE_PATH,
  isChecksummed,
  PROVENANCE_DSSE_PATH,
  PROVENANCE_PATH,
  PUBLIC_KEY_PATH,
  unsafePathReason,
} from './paths.ts';
export type { BundleFile, BundleSigner } from './signatures.ts';
export {
  checksumsFile,
  detachedSignature,
  EXPORT_MANIFEST_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_TYPE,
  PROVENANCE_PAYLOAD_TYPE,
  publicKeyId,
  signBundleManifests,
} from './signatures.ts';
export type { BundleCodec, BundleCompression, BundleEntry, WriteBundleOptions, WrittenBundle } from './tar.ts';
export { bundleExtension, bundleMediaType, DEFAULT_GZIP_LEVEL, DEFAULT_ZSTD_LEVEL, writeBundle } from './tar.ts';
export type { TrivyLayout } from './trivy-command.ts';
export { registerTrivyOciCommand, trivyOciLayout } from './trivy-command.ts';
export type { VerifyBundleOptions, VerifyCheck, VerifyReport } from './verify.ts';
export { verifyBundle } from './verify.ts';
export { readTrivyDb, verifyFileSignature } from './verify-contents.ts';
