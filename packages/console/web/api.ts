// Every call the console makes to stella's API: the bearer token and tenant header added, a 401 or an
// expired token turned into a re-authorisation, and every other failure into the problem+json fields
// (title, detail, code) the pages show.
import { apiErrorOf } from './api-error.ts';
import { beginSignIn, currentSession, signedInMomentsAgo } from './auth/session.ts';

/** GET a JSON document the token's scopes allow. */
export async function getJson<T>(path: string): Promise<T> {
  return (await authorisedGet(path, 'application/json')).json() as Promise<T>;
}

/** GET a text document (Prometheus metrics). */
export async function getText(path: string): Promise<string> {
  return (await authorisedGet(path, 'text/plain')).text();
}

/** GET a public endpoint whose listed non-2xx statuses still carry an answer (/readyz answers 503 with its checks). */
export async function getPublicJson<T>(path: string, alsoAccepted: readonly number[] = []): Promise<T> {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  if (!response.ok && !alsoAccepted.includes(response.status)) throw await apiErrorOf(response);
  return response.json() as Promise<T>;
}

function authorisedGet(path: string, accept: string): Promise<Response> {
  return authorisedFetch(path, { headers: { accept } });
}

/**
 * Any call the token's scopes allow (a POST, a stream, a download), answered 2xx; the caller reads the
 * body its own way. The bearer token and tenant header are added to `init.headers`.
 */
export async function authorisedFetch(
  path: string,
  init: Omit<RequestInit, 'headers'> & { headers?: Record<string, string> } = {},
): Promise<Response> {
  const session = currentSession();
  if (!session) return reauthorise();
  const headers: Record<string, string> = { ...init.headers, authorization: `Bearer ${session.accessToken}` };
  if (session.claims.tenant) headers['x-stella-tenant'] = session.claims.tenant;
  const response = await fetch(path, { ...init, headers });
  if (response.status === 401) {
    if (signedInMomentsAgo()) throw await apiErrorOf(response);
    return reauthorise();
  }
  if (!response.ok) throw await apiErrorOf(response);
  return response;
}

/** Leaves for /authorize and never settles: the page is going away. */
async function reauthorise(): Promise<never> {
  await beginSignIn(location.pathname + location.search);
  return new Promise<never>(() => {});
}
