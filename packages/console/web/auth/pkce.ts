// OAuth2 authorization code with PKCE (RFC 7636) as a public client: the verifier, its S256 challenge
// and the authorization request. Only the Web Crypto API, so these run in the browser and in node:test.

/** Where and as whom the console signs in (provider.ts); only what building the requests needs. */
export interface AuthorizationServer {
  authorizationEndpoint: string;
  clientId: string;
  scope: string;
  external: boolean;
}

/** 32 random bytes: a 43-character verifier, the RFC's recommended length. */
export function randomToken(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** BASE64URL(SHA-256(ASCII(verifier))), the S256 code_challenge. */
export async function codeChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

export function redirectUri(origin: string): string {
  return `${origin}/console/callback`;
}

/** The authorization request; a relative endpoint (the built-in /authorize) is on this origin. */
export function authorizeUrl(
  server: AuthorizationServer,
  origin: string,
  challenge: string,
  state: string,
  tenant?: string,
): string {
  // Parameters the endpoint URL already has are kept (OAuth 2.0 §3.1 allows a query component).
  const url = new URL(server.authorizationEndpoint, origin);
  const query = url.searchParams;
  query.set('response_type', 'code');
  query.set('client_id', server.clientId);
  query.set('redirect_uri', redirectUri(origin));
  query.set('code_challenge', challenge);
  query.set('code_challenge_method', 'S256');
  query.set('state', state);
  if (server.scope) query.set('scope', server.scope);
  // The tenant of this tab's last sign-in: a user with several tenants is not asked again on a reload.
  // stella's own parameter; an external provider decides the tenant claim itself.
  if (tenant && !server.external) query.set('tenant', tenant);
  return url.href;
}

/** The form body of the authorization_code grant at the token endpoint. */
export function tokenRequestBody(
  server: Pick<AuthorizationServer, 'clientId'>,
  origin: string,
  code: string,
  verifier: string,
): URLSearchParams {
  return new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri(origin),
    client_id: server.clientId,
    code_verifier: verifier,
  });
}

export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}
