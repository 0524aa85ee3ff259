// The authorization-code flow with PKCE (RFC 6749 §4.1, RFC 7636) for the console, a public client
// without a secret: what an authorization request must hold, one-use codes bound to the request's
// redirect URI and code challenge, and the sign-in sessions that let the console re-authorise
// silently. Codes and session ids are random 256-bit values; only their SHA-256 is stored.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db, Queryable } from '@stella/platform';
import { OAuthError } from './errors.ts';
import {
  DELETE_SESSION,
  INSERT_CODE,
  INSERT_SESSION,
  PRUNE_CODES,
  PRUNE_SESSIONS,
  REDEEM_CODE,
  SELECT_SESSION,
} from './sql/users.ts';

/** The console's client id: public (no secret), so PKCE is what binds a code to whoever asked for it. */
export const CONSOLE_CLIENT_ID = 'stella-console';
/** The one redirect path the console client may use, on the server's own origin. */
export const CONSOLE_REDIRECT_PATH = '/console/callback';
/** Long enough to sign in after the redirect, short enough that a leaked code is worthless soon. */
export const CODE_TTL_SECONDS = 60;

/** RFC 7636 §4.1: 43 to 128 characters of the unreserved set. */
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
/** base64url of a SHA-256: 43 characters without padding. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const MAX_STATE_LENGTH = 512;

export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  state: string;
  /** Asked for by the console when the user picked one before; the user must hold a role there. */
  tenant?: string;
}

/**
 * Checks the client and redirect URI first: until both are known good, an error is shown on the
 * authority's own page and never sent to the URI (RFC 6749 §4.1.2.1), or the authority would be an
 * open redirector. After that, errors go back to the client as `?error=`; `redirectable` says which.
 * `origins` are the origins the console may be served from: the issuer's and the one the browser used.
 */
export function parseAuthorizationRequest(
  params: Record<string, string | undefined>,
  origins: readonly string[],
): AuthorizationRequest {
  const clientId = params.client_id ?? '';
  if (clientId !== CONSOLE_CLIENT_ID) {
    throw new OAuthError(
      'unauthorized_client',
      `unknown client '${clientId.slice(0, 64)}'; the console is ${CONSOLE_CLIENT_ID}`,
    );
  }
  const redirectUri = params.redirect_uri ?? '';
  if (!isConsoleRedirect(redirectUri, origins)) {
    throw new OAuthError('invalid_request', `redirect_uri must be this server's ${CONSOLE_REDIRECT_PATH}`);
  }
  const state = params.state ?? '';
  const redirectable = (error: OAuthError) => toRedirect(error, { redirectUri, state });
  if (params.response_type !== 'code') {
    throw redirectable(new OAuthError('unsupported_response_type', 'response_type must be code'));
  }
  if (!state || state.length > MAX_STATE_LENGTH) {
    throw redirectable(new OAuthError('invalid_request', `state is required (at most ${MAX_STATE_LENGTH} characters)`));
  }
  if (params.code_challenge_method !== 'S256') {
    // RFC 7636 §4.2 allows `plain`; a public client gets nothing from it that S256 does not give safer.
    throw redirectable(new OAuthError('invalid_request', 'code_challenge_method must be S256'));
  }
  const codeChallenge = params.code_challenge ?? '';
  if (!S256_CHALLENGE.test(codeChallenge)) {
    throw redirectable(
      new OAuthError('invalid_request', 'code_challenge must be the base64url SHA-256 of the verifier'),
    );
  }
  return { clientId, redirectUri, codeChallenge, state, ...(params.tenant ? { tenant: params.tenant } : {}) };
}

/** Marks an error as one to send to the client's (already checked) redirect URI. */
export function toRedirect(error: OAuthError, target: { redirectUri: string; state: string }): OAuthError {
  return Object.assign(error, { redirectUri: target.redirectUri, state: target.state });
}

/** The redirect URI and state an error may be sent back to, when the request got that far. */
export function redirectOf(error: unknown): { redirectUri: string; state: string } | undefined {
  const e = error as { redirectUri?: unknown; state?: unknown };
  return typeof e?.redirectUri === 'string' && typeof e.state === 'string'
    ? { redirectUri: e.redirectUri, state: e.state }
    : undefined;
}

function isConsoleRedirect(uri: string, origins: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  // Exact: no query, fragment or credentials can ride along, and the origin is ours.
  return (
    url.href === uri &&
    url.pathname === CONSOLE_REDIRECT_PATH &&
    url.search === '' &&
    url.hash === '' &&
    url.username === '' &&
    url.password === '' &&
    origins.includes(url.origin)
  );
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

export function newOpaqueId(): string {
  return randomBytes(32).toString('base64url');
}

export async function issueCode(
  db: Queryable,
  grant: { user: string; tenant: string; request: AuthorizationRequest; now: Date },
): Promise<string> {
  const code = newOpaqueId();
  const expires = new Date(grant.now.getTime() + CODE_TTL_SECONDS * 1000);
  await db.query(PRUNE_CODES, [grant.now]);
  await db.query(INSERT_CODE, [
    sha256Hex(code),
    grant.user,
    grant.tenant,
    grant.request.clientId,
    grant.request.redirectUri,
    grant.request.codeChallenge,
    expires,
  ]);
  return code;
}

/**
 * Redeems a code once. Every mismatch is `invalid_grant` with the same words: which part was wrong
 * helps only someone trying codes. The code is spent even when the verifier is wrong, so a stolen code
 * cannot be tried against many verifiers.
 */
export async function redeemCode(
  db: Db,
  request: { code: string; redirectUri: string; clientId: string; codeVerifier: string; now: Date },
): Promise<{ user: string; tenant: string }> {
  if (!VERIFIER.test(request.codeVerifier)) {
    throw new OAuthError('invalid_request', 'code_verifier must be 43 to 128 characters of [A-Za-z0-9._~-] (RFC 7636)');
  }
  const { rows } = await db.query<{
    user_name: string;
    tenant: string;
    client_id: string;
    redirect_uri: string;
    code_challenge: string;
  }>(REDEEM_CODE, [sha256Hex(request.code), request.now]);
  const row = rows[0];
  const invalid = new OAuthError('invalid_grant', 'the authorization code is invalid, expired or already used');
  if (!row || row.client_id !== request.clientId || row.redirect_uri !== request.redirectUri) throw invalid;
  const expected = Buffer.from(row.code_challenge);
  const actual = Buffer.from(s256(request.codeVerifier));
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) throw invalid;
  return { user: row.user_name, tenant: row.tenant };
}

export async function startSession(db: Db, user: string, now: Date, ttlSeconds: number): Promise<string> {
  const id = newOpaqueId();
  await db.query(PRUNE_SESSIONS, [now]);
  await db.query(INSERT_SESSION, [sha256Hex(id), user, now, new Date(now.getTime() + ttlSeconds * 1000)]);
  return id;
}

/** The signed-in user of a session cookie, while the session lasts and the user is not disabled. */
export async function sessionUser(db: Db, id: string | undefined, now: Date): Promise<string | undefined> {
  if (!id || id.length > 64) return undefined;
  const { rows } = await db.query<{ user_name: string }>(SELECT_SESSION, [sha256Hex(id), now]);
  return rows[0]?.user_name;
}

export async function endSession(db: Db, id: string | undefined): Promise<void> {
  if (id && id.length <= 64) await db.query(DELETE_SESSION, [sha256Hex(id)]);
}
