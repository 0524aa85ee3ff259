// What the console reads from its access token: who is signed in, for which tenant, with which scopes,
// until when. Read for display and for hiding controls only: the API verifies the token on every call.

export interface Claims {
  subject: string;
  name: string;
  role: string | undefined;
  /** The tenant the token acts for; undefined when it names several (the API then wants a header). */
  tenant: string | undefined;
  scopes: ReadonlySet<string>;
  /** Expiry in ms since the epoch. */
  expiresAt: number;
}

/** The payload of a JWS compact token; throws when the token is not one. */
export function readClaims(accessToken: string): Claims {
  const payload = accessToken.split('.')[1];
  if (!payload) throw new Error('the access token is not a JWT');
  const json = JSON.parse(new TextDecoder().decode(fromBase64url(payload))) as Record<string, unknown>;
  const subject = typeof json.sub === 'string' ? json.sub : '';
  const tid = json.tid;
  return {
    subject,
    name: typeof json.name === 'string' ? json.name : subject.replace(/^user:/, ''),
    role: typeof json.role === 'string' ? json.role : undefined,
    tenant: typeof tid === 'string' ? tid : Array.isArray(tid) && tid.length === 1 ? String(tid[0]) : undefined,
    scopes: new Set(typeof json.scope === 'string' ? json.scope.split(' ').filter(Boolean) : []),
    expiresAt: typeof json.exp === 'number' ? json.exp * 1000 : 0,
  };
}

function fromBase64url(text: string): Uint8Array {
  const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
