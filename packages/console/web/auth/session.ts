// The signed-in session: the access token lives in this module's memory only (never in Web Storage,
// where any script on the origin could read it long after). Only the PKCE verifier, the state and the
// page to return to cross the redirect, in sessionStorage, and are removed when the callback reads them.
import { apiErrorOf } from '../api-error.ts';
import { saveDrafts } from '../drafts.ts';
import { type Claims, readClaims } from './claims.ts';
import { SignInError } from './errors.ts';
import { authorizeUrl, codeChallenge, randomToken, tokenRequestBody } from './pkce.ts';
import { signInProvider } from './provider.ts';

const PENDING_KEY = 'stella.console.sign-in';
const LAST_SIGN_IN_KEY = 'stella.console.last-sign-in';
// Not a secret: which tenant this tab works in, so re-authorising stays in it (and stays silent).
const TENANT_KEY = 'stella.console.tenant';
// A token this close to expiry is treated as expired: a request sent with it could arrive too late.
const EXPIRY_MARGIN_MS = 10_000;
// Re-authorising again this soon after a sign-in means the API refuses fresh tokens (a clock or key
// problem); redirecting again would loop, so the error is shown instead.
const REAUTHORISE_LOOP_MS = 15_000;

export interface Session {
  accessToken: string;
  claims: Claims;
}

interface PendingSignIn {
  state: string;
  verifier: string;
  returnTo: string;
}

let session: Session | undefined;
const listeners = new Set<() => void>();

/** The session while its token is still good; undefined once it expired or before sign-in. */
export function currentSession(now = Date.now()): Session | undefined {
  return session && session.claims.expiresAt - EXPIRY_MARGIN_MS > now ? session : undefined;
}

export function onSessionChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function setSession(next: Session | undefined): void {
  session = next;
  for (const listener of listeners) listener();
}

/**
 * Leaves for /authorize (silent while the authority's sign-in cookie lasts). Unsaved form values are
 * kept in sessionStorage first and given back to their forms after the callback.
 */
export async function beginSignIn(returnTo: string): Promise<void> {
  saveDrafts();
  const pending: PendingSignIn = { state: randomToken(), verifier: randomToken(), returnTo };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const tenant = sessionStorage.getItem(TENANT_KEY) ?? undefined;
  const provider = await signInProvider();
  location.assign(
    authorizeUrl(provider, location.origin, await codeChallenge(pending.verifier), pending.state, tenant),
  );
}

/** Whether the API refused a token minted moments ago: re-authorising again would only loop. */
export function signedInMomentsAgo(now = Date.now()): boolean {
  return now - Number(sessionStorage.getItem(LAST_SIGN_IN_KEY) ?? 0) < REAUTHORISE_LOOP_MS;
}

/** The callback's half: checks state, exchanges the code at /token, and returns the page to go back to. */
export async function completeSignIn(query: URLSearchParams): Promise<string> {
  const stored = sessionStorage.getItem(PENDING_KEY);
  // One use only: a reload of the callback page must not replay the code or the verifier.
  sessionStorage.removeItem(PENDING_KEY);
  const pending = stored ? (JSON.parse(stored) as PendingSignIn) : undefined;
  if (!pending || query.get('state') !== pending.state) {
    throw new SignInError(
      'Sign-in not recognised',
      'This sign-in answer does not belong to a sign-in started in this tab. Sign in again.',
      'state_mismatch',
    );
  }
  const error = query.get('error');
  if (error) throw new SignInError('Sign-in refused', query.get('error_description') ?? error, error);
  const code = query.get('code');
  if (!code) throw new SignInError('Sign-in incomplete', 'The authority sent no code. Sign in again.', 'no_code');
  const provider = await signInProvider();
  const response = await fetch(provider.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: tokenRequestBody(provider, location.origin, code, pending.verifier),
    // No cookie goes to an external provider: the code and the PKCE verifier are the whole proof.
    credentials: provider.external ? 'omit' : 'same-origin',
  });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok || typeof body.access_token !== 'string') {
    throw new SignInError(
      'Token exchange failed',
      String(body.error_description ?? body.detail ?? `POST ${provider.tokenEndpoint} answered ${response.status}`),
      String(body.error ?? body.code ?? response.status),
    );
  }
  const claims = readClaims(body.access_token);
  setSession({ accessToken: body.access_token, claims });
  sessionStorage.setItem(LAST_SIGN_IN_KEY, String(Date.now()));
  if (claims.tenant) sessionStorage.setItem(TENANT_KEY, claims.tenant);
  return pending.returnTo;
}

/**
 * Ends the built-in authority's sign-in session, so the next /authorize asks for the password again, and
 * returns why that failed, if it did. The token is dropped either way, by forgetSession.
 */
export async function endAuthoritySession(): Promise<unknown> {
  try {
    // An external provider's session is its own: signing out there is done on its pages.
    if ((await signInProvider()).external) return undefined;
    const response = await fetch('/authorize/sign-out', { method: 'POST', credentials: 'same-origin' });
    return response.ok ? undefined : await apiErrorOf(response);
  } catch (error) {
    return error;
  }
}

/** Drops the token; the next sign-in may choose another tenant. */
export function forgetSession(): void {
  sessionStorage.removeItem(TENANT_KEY);
  setSession(undefined);
}

export function hasScope(scope: string): boolean {
  return session?.claims.scopes.has(scope) ?? false;
}
