// @stella/authority: the built-in OAuth2 authority: tenants, clients, signing keys, the token
// endpoint and its bootstrap. Resource routes verify its tokens with @stella/platform's verifier.
export type { BootstrapOptions, BootstrapResult, ClientRecord, CredentialsEntry, CredentialsFile } from './clients.ts';
export { bootstrapAuthority, CREDENTIALS_FILE, DEFAULT_TENANT, findClient } from './clients.ts';
export type { OAuthErrorBody, OAuthErrorCode } from './errors.ts';
export { OAuthError } from './errors.ts';
export type { RotateKeysOptions, RotationResult, SigningKey } from './keys.ts';
export { ensureActiveKey, jwks, pruneExpiredKeys, rotateKeys, SIGNING_ALG } from './keys.ts';
export { authorityModule } from './module.ts';
export type { AuthorityRouteDeps } from './routes.ts';
export { DISCOVERY_PATH, JWKS_PATH, registerAuthorityRoutes, TOKEN_PATH } from './routes.ts';
export { generateSecret, hashSecret, isSecretHash, verifySecret } from './secrets.ts';
export type { IssueTokenOptions, TokenResponse } from './tokens.ts';
export { issueToken } from './tokens.ts';

/** Folder of this module's NNNN_name.sql migrations, for the platform's migrator. */
export const authorityMigrations = new URL('../migrations/', import.meta.url);
