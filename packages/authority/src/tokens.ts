// The client_credentials grant: authenticates a client by its secret and signs a short-lived access
// token (RFC 9068 `at+jwt`) carrying the granted `scope` and the tenant(s) in `tid`.
import { isTenantId, newUuid } from '@stella/core';
import type { Db, KeyEncryptionKey } from '@stella/platform';
import { isKnownScope, keyEncryptionKeyFor, quoteScope, sortScopes, validateScopeSet } from '@stella/platform';
import { SignJWT } from 'jose';
import { type ClientRecord, findClient } from './clients.ts';
import { CONSOLE_CLIENT_ID, redeemCode } from './codes.ts';
import { OAuthError } from './errors.ts';
import { ensureActiveKey } from './keys.ts';
import { decoyHash, secretVerifier, verifierMatches, verifySecret } from './secrets.ts';
import { SET_SECRET_VERIFIER } from './sql/clients.ts';
import { type ThrottleRefusal, type TokenThrottle, throttleAddress } from './throttle.ts';
import { findUser, ROLE_SCOPES } from './users.ts';

export interface IssueTokenOptions {
  clientId: string;
  clientSecret: string;
  /** Space-separated; omitted or blank means every scope the client is allowed. */
  scope?: string;
  /** Narrows the token to one of the client's tenants. */
  tenant?: string;
  issuer: string;
  audience: string;
  ttlSeconds: number;
  now: Date;
  /** The caller's address (request.ip): failed checks back off per client id and address. */
  address?: string;
  /** Without one, secret checks are neither throttled nor limited in concurrency (library use). */
  throttle?: TokenThrottle;
  /** Default: the KEK attached to `db`. */
  kek?: KeyEncryptionKey;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

/** Client ids are short names; anything longer is not one of ours and is not worth a lookup. */
const MAX_CLIENT_ID_LENGTH = 200;
/** Generated secrets are 43 characters; the cap bounds the scrypt input from hostile requests. */
const MAX_SECRET_LENGTH = 1024;

const AUTH_FAILED = 'client authentication failed';

export async function issueToken(db: Db, options: IssueTokenOptions): Promise<TokenResponse> {
  const { clientId, clientSecret } = options;
  if (!clientId || !clientSecret) {
    throw new OAuthError('invalid_client', 'client authentication missing: send client_id and client_secret');
  }
  if (clientId.length > MAX_CLIENT_ID_LENGTH || clientSecret.length > MAX_SECRET_LENGTH) {
    throw new OAuthError('invalid_client', AUTH_FAILED);
  }
  const kek = options.kek ?? keyEncryptionKeyFor(db);
  const client = await authenticate(db, kek, options);

  const scopes = grantedScopes(options.scope, client.scopes);
  // Disabled tenants get no new tokens. The platform administrator (tenant:admin) keeps getting
  // tokens when its own tenant is disabled, or nobody could enable it again.
  const disabled = await disabledTenants(db, client.tenants);
  if (options.tenant && disabled.has(options.tenant)) {
    throw new OAuthError('invalid_scope', `tenant '${options.tenant}' is disabled`);
  }
  const usable = client.tenants.filter((t) => !disabled.has(t));
  if (usable.length === 0 && !client.scopes.includes('tenant:admin')) {
    throw new OAuthError('unauthorized_client', 'every tenant of this client is disabled');
  }
  const tid = grantedTenants(options.tenant, usable.length > 0 ? usable : client.tenants);

  return signAccessToken(db, kek, { ...options, subject: client.clientId, clientId: client.clientId, scopes, tid });
}

export interface UserTokenOptions {
  clientId: string;
  code: string;
  redirectUri: string;
  codeVerifier: string;
  issuer: string;
  audience: string;
  ttlSeconds: number;
  now: Date;
  kek?: KeyEncryptionKey;
}

/**
 * The authorization_code grant: redeems the console's code and signs the user's token for the tenant
 * chosen at sign-in, with the scopes of the user's role there now (a role changed or a user disabled
 * between sign-in and redemption counts as of redemption).
 */
export async function issueUserToken(db: Db, options: UserTokenOptions): Promise<TokenResponse> {
  if (options.clientId !== CONSOLE_CLIENT_ID) {
    throw new OAuthError(
      'invalid_client',
      `the authorization_code grant is for the public client ${CONSOLE_CLIENT_ID}`,
    );
  }
  if (!options.code || !options.redirectUri) {
    throw new OAuthError('invalid_request', 'code, redirect_uri and code_verifier are required');
  }
  const granted = await redeemCode(db, { ...options, now: options.now });
  const user = await findUser(db, granted.user);
  const role = user?.roles[granted.tenant];
  if (!user || user.disabled || !role) {
    throw new OAuthError('invalid_grant', 'the authorization code is invalid, expired or already used');
  }
  if ((await disabledTenants(db, [granted.tenant])).size > 0) {
    throw new OAuthError('invalid_grant', `tenant '${granted.tenant}' is disabled`);
  }
  return signAccessToken(db, options.kek ?? keyEncryptionKeyFor(db), {
    ...options,
    subject: `user:${user.name}`,
    clientId: CONSOLE_CLIENT_ID,
    scopes: sortScopes([...ROLE_SCOPES[role]]),
    tid: granted.tenant,
    extra: { name: user.name, role },
  });
}

export interface AccessTokenClaims {
  issuer: string;
  audience: string;
  ttlSeconds: number;
  now: Date;
  /** A client id, or `user:<name>` for a signed-in user. */
  subject: string;
  clientId: string;
  scopes: readonly string[];
  tid: string | string[];
  /** Further claims (a user's name and role). */
  extra?: Record<string, string>;
}

/** Signs an RFC 9068 access token with the active key; every grant ends here. */
export async function signAccessToken(
  db: Db,
  kek: KeyEncryptionKey,
  claims: AccessTokenClaims,
): Promise<TokenResponse> {
  if (!(Number.isInteger(claims.ttlSeconds) && claims.ttlSeconds > 0)) {
    throw new OAuthError('server_error', 'token lifetime is misconfigured');
  }
  const key = await ensureActiveKey(db, claims.now, kek);
  const iat = Math.floor(claims.now.getTime() / 1000);
  const scope = claims.scopes.join(' ');
  const accessToken = await new SignJWT({ ...claims.extra, scope, tid: claims.tid, client_id: claims.clientId })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'at+jwt' })
    .setIssuer(claims.issuer)
    .setSubject(claims.subject)
    .setAudience(claims.audience)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + claims.ttlSeconds)
    .setJti(newUuid())
    .sign(key.privateKey);
  return { access_token: accessToken, token_type: 'Bearer', expires_in: claims.ttlSeconds, scope };
}

/**
 * A secret that matches the client's verifier is correct without scrypt and without the throttle, so
 * the real client keeps getting tokens while others fail with its id. Everything else (unknown client,
 * wrong secret, no verifier yet) takes the throttled scrypt path; scrypt runs whether or not the client
 * exists (against a decoy hash), so the answer time does not reveal which client ids exist, and the
 * message is the same for every failure for the same reason. During a rotation's overlap the previous
 * secret is checked too (a second scrypt, only after the current one failed); it never gets a verifier,
 * so it stops working at its expiry.
 */
async function authenticate(db: Db, kek: KeyEncryptionKey, options: IssueTokenOptions): Promise<ClientRecord> {
  const { clientId, clientSecret } = options;
  const client = await findClient(db, clientId);
  if (
    client &&
    !client.disabled &&
    client.secretVerifier &&
    verifierMatches(kek, clientId, client.secretHash, clientSecret, client.secretVerifier)
  ) {
    return client;
  }
  const previous =
    client?.previousSecretHash && client.previousSecretExpiresAt && client.previousSecretExpiresAt > options.now
      ? client.previousSecretHash
      : undefined;
  let current = false;
  const check = async () => {
    current = await verifySecret(clientSecret, client?.secretHash ?? (await decoyHash()));
    return current || (previous !== undefined && (await verifySecret(clientSecret, previous)));
  };
  const outcome = options.throttle
    ? await options.throttle.run(clientId, throttleAddress(options.address), check)
    : await check();
  if (typeof outcome === 'object') throw slowDown(outcome);
  if (!client || !outcome || client.disabled) throw new OAuthError('invalid_client', AUTH_FAILED);
  const verifier = secretVerifier(kek, clientId, client.secretHash, clientSecret);
  if (current && verifier !== client.secretVerifier) {
    await db.query(SET_SECRET_VERIFIER, [clientId, client.secretHash, verifier]);
  }
  return client;
}

function slowDown(refusal: ThrottleRefusal): OAuthError {
  const wait = refusal.retryAfterSeconds;
  const text =
    refusal.reason === 'busy'
      ? `too many client authentications are being checked; retry in ${wait} s`
      : `too many failed client authentications ${refusal.reason === 'client_backoff' ? 'for this client ' : ''}from your address; retry in ${wait} s`;
  return new OAuthError('slow_down', text, { retryAfterSeconds: wait });
}

function grantedScopes(requested: string | undefined, allowed: readonly string[]): string[] {
  // RFC 6749 §3.3: scope tokens are separated by spaces; tolerate runs of them.
  const asked = requested?.split(' ').filter(Boolean) ?? [];
  // A scope dropped from the catalogue may linger on a stored client; it is never granted.
  if (asked.length === 0) return sortScopes(allowed.filter(isKnownScope));
  const problem = validateScopeSet(asked);
  if (problem) throw new OAuthError('invalid_scope', problem);
  const notAllowed = asked.filter((s) => !allowed.includes(s));
  if (notAllowed.length > 0) {
    throw new OAuthError(
      'invalid_scope',
      `scope ${notAllowed.map(quoteScope).join(', ')} is not allowed for this client`,
    );
  }
  return sortScopes(asked);
}

/**
 * A tenant the client is not assigned to is `invalid_scope`, not `invalid_request`: the request is
 * well-formed but asks for more than the client was granted, which is what invalid_scope means
 * (RFC 6749 §5.2: "exceeds the scope granted"); the tenant narrows a token just as scope does. A
 * malformed tenant id is `invalid_request`.
 */
function grantedTenants(requested: string | undefined, assigned: readonly string[]): string | string[] {
  if (requested === undefined || requested === '') return assigned.length === 1 ? assigned[0]! : [...assigned];
  if (!isTenantId(requested)) {
    throw new OAuthError('invalid_request', 'tenant must be a tenant id (lower-case letters, digits, inner hyphens)');
  }
  if (!assigned.includes(requested)) {
    throw new OAuthError('invalid_scope', `tenant '${requested}' is not assigned to this client`);
  }
  return requested;
}

async function disabledTenants(db: Db, tenants: readonly string[]): Promise<Set<string>> {
  const { rows } = await db.query<{ id: string }>('select id from tenants where id = any($1::text[]) and disabled', [
    tenants,
  ]);
  return new Set(rows.map((r) => r.id));
}
