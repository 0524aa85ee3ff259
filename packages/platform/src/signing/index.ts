// Per-tenant signing keys held by the platform: Ed25519 for DSSE envelopes, ECDSA P-256 for
// cosign-style blob signatures. A key is created on first use for (tenant, purpose, algorithm);
// public keys are listable so verifiers can pin them as trust roots. Private keys never leave here.
export type { PlatformSigner, PublicSigningKey, SigningAlgorithm, SigningKeyStore } from './store.ts';
export { createSigningKeyStore, keyIdOf } from './store.ts';
