// @stella/authority: the built-in OAuth2 authority: tenants, clients, signing keys, the token
// endpoint and its bootstrap. Resource routes verify its tokens with @stella/platform's verifier.
export type { BootstrapOptions, BootstrapResult, ClientRecord, CredentialsEntry, CredentialsFile } from './clients.ts';
export { bootstrapAuthority, CREDENTIALS_FILE, DEFAULT_TENANT, findClient } from './clients.ts';
export type { OAuthErrorBody, OAuthErrorCode } from './errors.ts';
export { OAuthError } from './errors.ts';
export { prepareKeyEncryption } from './key-encryption.ts';
export type { RotateKeysOptions, RotationResult, SealPlaintextKeysResult, SigningKey } from './keys.ts';
export {
  ensureActiveKey,
  jwks,
  pruneExpiredKeys,
  rotateKeys,
  SIGNING_ALG,
  sealedAuthorityKekIds,
  sealPlaintextKeys,
} from './keys.ts';
export { authorityModule } from './module.ts';
export type { AuthorityRouteDeps } from './routes.ts';
export { DISCOVERY_PATH, JWKS_PATH, registerAuthorityRoutes, TOKEN_PATH } from './routes.ts';
export { generateSecret, hashSecret, isSecretHash, secretVerifier, verifySecret } from './secrets.ts';
export type {
  ThrottleReason,
  ThrottleRefusal,
  TokenThrottle,
  TokenThrottleOptions,
  TokenThrottleStats,
} from './throttle.ts';
export { createTokenThrottle, throttleAddress } from './throttle.ts';
export type { IssueTokenOptions, TokenResponse } from './tokens.ts';
export { issueToken } from './tokens.ts';

/** Folder of this module's NNNN_name.sql migrations, for the platform's migrator. */
export const authorityMigrations = new URL('../migrations/', import.meta.url);
