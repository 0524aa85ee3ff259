// OAuth2 authorization code with PKCE (RFC 7636) as a public client: the verifier, its S256 challenge
// and the /authorize address. Only the Web Crypto API, so these run in the browser and in node:test.

export const CLIENT_ID = 'stella-console';

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

export function authorizeUrl(origin: string, challenge: string, state: string, tenant?: string): string {
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: redirectUri(origin),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
  });
  // The tenant of this tab's last sign-in: a user with several tenants is not asked again on a reload.
  if (tenant) query.set('tenant', tenant);
  return `${origin}/authorize?${query}`;
}

/** The form body of the authorization_code grant at /token. */
export function tokenRequestBody(origin: string, code: string, verifier: string): URLSearchParams {
  return new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri(origin),
    client_id: CLIENT_ID,
    code_verifier: verifier,
  });
}

export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}
