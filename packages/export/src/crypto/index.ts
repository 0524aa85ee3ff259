// SPDX-License-Identifier: Apache-2.0
// Envelope encryption for export bundles (docs/encryption.md): a per-run data key wrapped for age
// recipients, per-file AES-256-GCM bound to {runId}:{relativePath}, and whole-file age for interop.
export { ageDecryptFile, ageEncryptFile } from './age-file.ts';
export type { AgeWrappedKey, BundleEncryptionRecord, DataKey, EncryptionRecord } from './data-key.ts';
export { AAD_FORMAT, createDataKey, NONCE_FORMAT, unwrapDataKey } from './data-key.ts';
export { decryptFile, encryptFile, fileAad, MAX_PLAINTEXT_BYTES, NONCE_BYTES, TAG_BYTES } from './file-cipher.ts';
export { MAX_IDENTITY_FILE_CHARS, parseAgeIdentities, parseAgeRecipients } from './recipients.ts';
