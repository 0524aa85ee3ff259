// Per-tenant signing keys held by the platform: Ed25519 for DSSE envelopes, ECDSA P-256 for
// cosign-style blob signatures. A key is created on first use for (tenant, purpose, algorithm);
// public keys are listable so verifiers can pin them as trust roots. Private keys never leave here,
// and are stored only sealed under the key-encryption key (KEK) kept outside the database.
export { KeyErrors } from './errors.ts';
export type { KeyEncryptionKey, LoadedKeyEncryptionKey, LoadKeyEncryptionKeyOptions } from './kek.ts';
export {
  attachKeyEncryptionKey,
  DEFAULT_KEK_FILE,
  generateKeyEncryptionKeyText,
  isSealed,
  keyEncryptionKeyFor,
  keyEncryptionKeyFromBytes,
  loadKeyEncryptionKey,
  parseKeyEncryptionKey,
  sealedKekId,
} from './kek.ts';
export type {
  PlatformSigner,
  PublicSigningKey,
  SigningAlgorithm,
  SigningKeyStore,
  SigningKeyStoreOptions,
} from './store.ts';
export { createSigningKeyStore, keyIdOf, sealedSigningKeyKekIds, sealPlaintextSigningKeys } from './store.ts';
