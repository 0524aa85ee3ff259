// The resource-server side of authentication: verifies access tokens against the authority's JWKS
// (in-process or an external OIDC issuer) and decides whether a principal may act on a route and tenant.
import { Errors, isTenantId, StellaError } from '@stella/core';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { AuthErrors } from './errors.ts';
import { quoteScope } from './scopes.ts';

export interface Principal {
  /** The client id (`sub`). */
  subject: string;
  scopes: ReadonlySet<string>;
  /** Tenants the token is valid for (`tid`). */
  tenants: string[];
  /** `jti`, for audit records. */
  tokenId: string;
  expiresAt: Date;
}

export type TokenKeySource =
  /** The built-in authority: keys come straight from its table. */
  | { kind: 'local'; jwks: () => Promise<JSONWebKeySet> }
  /** An external OIDC issuer (auth.externalJwksUrl). */
  | { kind: 'remote'; jwksUrl: string };

export interface TokenVerifierOptions {
  issuer: string;
  audience: string;
  clockSkewSeconds: number;
  keys: TokenKeySource;
  /** Clock for exp/nbf checks; tests move it. */
  now?: () => Date;
}

export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
}

/**
 * Only asymmetric algorithms: an allowlist is what refuses `alg: none` and the HS256-keyed-with-the-
 * public-key confusion attack. EdDSA is what stella issues; ES256 is for external issuers.
 */
export const ACCEPTED_TOKEN_ALGORITHMS = ['EdDSA', 'ES256'] as const;

/**
 * Every request is verified, and reading the key table each time would put a query in front of every
 * route. Five seconds is far below the shortest token lifetime (30 s) and the retirement window, so a
 * pruned key can linger only for tokens that have already expired; new keys are picked up at once
 * because an unknown kid refetches.
 */
const LOCAL_JWKS_CACHE_MS = 5_000;

/** Longer than any JWT we issue (a few hundred bytes); caps work done on hostile input. */
const MAX_TOKEN_LENGTH = 8_192;

const REQUIRED_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'scope', 'tid'];

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const local = options.keys.kind === 'local';
  const getKey: JWTVerifyGetKey =
    options.keys.kind === 'local'
      ? localKeyResolver(options.keys.jwks)
      : createRemoteJWKSet(new URL(options.keys.jwksUrl));

  return {
    async verify(token: string): Promise<Principal> {
      if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
        throw invalid('malformed token');
      }
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, getKey, {
          issuer: options.issuer,
          audience: options.audience,
          algorithms: [...ACCEPTED_TOKEN_ALGORITHMS],
          clockTolerance: options.clockSkewSeconds,
          requiredClaims: REQUIRED_CLAIMS,
          currentDate: options.now?.(),
          // RFC 9068: our own tokens are typed, so an ID token or other JWT signed by the same key is
          // not accepted as an access token. External issuers differ in what they put here.
          typ: local ? 'at+jwt' : undefined,
        }));
      } catch (error) {
        throw fromJoseError(error, options);
      }
      return principalOf(payload);
    },
  };
}

function localKeyResolver(load: () => Promise<JSONWebKeySet>): JWTVerifyGetKey {
  let cached: { resolve: JWTVerifyGetKey; fetchedAt: number } | undefined;
  let inflight: Promise<{ resolve: JWTVerifyGetKey; fetchedAt: number }> | undefined;
  // Concurrent requests share one load, so a burst of tokens with an unknown kid costs one query.
  const refresh = () => {
    inflight ??= load()
      .then((set) => {
        cached = { resolve: createLocalJWKSet(set), fetchedAt: performance.now() };
        return cached;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };
  return async (header, token) => {
    const fresh = cached !== undefined && performance.now() - cached.fetchedAt < LOCAL_JWKS_CACHE_MS;
    const entry = fresh && cached ? cached : await refresh();
    try {
      return await entry.resolve(header, token);
    } catch (error) {
      // A kid we have not seen may be a key rotated in since the cache was filled: look once more.
      if (!fresh || (error as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw error;
      return (await refresh()).resolve(header, token);
    }
  };
}

/** Names the check that failed; never echoes the token or attacker-chosen header values. */
function fromJoseError(error: unknown, options: TokenVerifierOptions): StellaError {
  const e = error as { code?: string; claim?: string; reason?: string };
  switch (e?.code) {
    case 'ERR_JWT_EXPIRED':
      return invalid('token expired', error);
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (e.reason === 'missing') return invalid(`missing required claim '${e.claim}'`, error);
      if (e.claim === 'nbf') return invalid('token not yet valid (nbf is in the future)', error);
      if (e.claim === 'aud') return invalid(`wrong audience: the token is not for '${options.audience}'`, error);
      if (e.claim === 'iss') return invalid(`wrong issuer: expected '${options.issuer}'`, error);
      if (e.claim === 'typ') return invalid("wrong token type: expected an 'at+jwt' access token", error);
      return invalid(`claim '${e.claim}' failed validation`, error);
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return invalid(`unsupported alg: only ${ACCEPTED_TOKEN_ALGORITHMS.join(' and ')} are accepted`, error);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return invalid('bad signature', error);
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return invalid('bad signature: no current signing key matches the token (unknown or expired kid)', error);
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return invalid('bad signature: the token names no kid and several signing keys could match', error);
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return invalid('malformed token', error);
    default:
      // The key set could not be loaded (database down, external issuer unreachable): that is the
      // server's fault, and a 401 would send clients into a token-refresh loop.
      return new StellaError(Errors.internal, 'could not load the token signing keys', { cause: error });
  }
}

function principalOf(payload: JWTPayload): Principal {
  const { sub, jti, exp, scope, tid } = payload;
  if (typeof sub !== 'string' || sub === '') throw invalid("claim 'sub' must be a non-empty string");
  if (typeof jti !== 'string' || jti === '') throw invalid("claim 'jti' must be a non-empty string");
  if (typeof exp !== 'number') throw invalid("claim 'exp' must be a number");
  if (typeof scope !== 'string') throw invalid("claim 'scope' must be a space-separated string");
  const tenants = typeof tid === 'string' ? [tid] : tid;
  if (!Array.isArray(tenants) || !tenants.every((t) => typeof t === 'string' && isTenantId(t))) {
    throw invalid("claim 'tid' must be a tenant id or an array of tenant ids");
  }
  return {
    subject: sub,
    scopes: new Set(scope.split(' ').filter(Boolean)),
    tenants: [...new Set(tenants as string[])],
    tokenId: jti,
    expiresAt: new Date(exp * 1000),
  };
}

function invalid(check: string, cause?: unknown): StellaError {
  return new StellaError(AuthErrors.invalidToken, `invalid bearer token: ${check}`, {
    cause,
    headers: { 'www-authenticate': `Bearer error="invalid_token", error_description="${check.replace(/"/g, "'")}"` },
  });
}

export interface AuthorizeOptions {
  /** Every scope listed is required. */
  scopes: readonly string[];
  /** Value of the tenant header (X-Stella-Tenant or X-StellaOps-Tenant), if the request sent one. */
  tenantHeaderValue: string | undefined;
  /** Header name used in messages, as configured (auth.tenantHeader). */
  tenantHeaderName: string;
  /** false for routes that act on no tenant; then a tenant is returned only if the header names one. */
  tenantRequired?: boolean;
}

/**
 * Checks scopes, then resolves the tenant the request acts for. The header wins when sent and must
 * be one of the token's tenants; without it, a single-tenant token means that tenant.
 */
export function authorize(principal: Principal, options: AuthorizeOptions & { tenantRequired?: true }): string;
export function authorize(principal: Principal, options: AuthorizeOptions): string | undefined;
export function authorize(principal: Principal, options: AuthorizeOptions): string | undefined {
  const missing = options.scopes.filter((s) => !principal.scopes.has(s));
  if (missing.length > 0) {
    throw new StellaError(
      AuthErrors.scope,
      `token lacks scope ${missing.map(quoteScope).join(' and ')}; request a token that includes it`,
      {
        details: { requiredScopes: [...options.scopes], missingScopes: missing },
        headers: { 'www-authenticate': `Bearer error="insufficient_scope", scope="${options.scopes.join(' ')}"` },
      },
    );
  }
  const header = options.tenantHeaderValue;
  if (header !== undefined && header !== '') {
    if (!isTenantId(header)) {
      throw new StellaError(
        AuthErrors.invalidTenant,
        `${options.tenantHeaderName} is not a valid tenant id (lower-case letters, digits and inner hyphens)`,
      );
    }
    if (!principal.tenants.includes(header)) {
      throw new StellaError(
        AuthErrors.tenantForbidden,
        `token of client '${principal.subject}' is not valid for tenant '${header}'; its tenants: ${principal.tenants.join(', ') || '(none)'}`,
      );
    }
    return header;
  }
  if (options.tenantRequired === false) return undefined;
  if (principal.tenants.length === 1) return principal.tenants[0]!;
  if (principal.tenants.length === 0) {
    throw new StellaError(
      AuthErrors.tenantForbidden,
      `token of client '${principal.subject}' is not valid for any tenant`,
    );
  }
  throw new StellaError(
    AuthErrors.tenantRequired,
    `the token is valid for several tenants (${principal.tenants.join(', ')}): send ${options.tenantHeaderName} to choose one`,
  );
}
