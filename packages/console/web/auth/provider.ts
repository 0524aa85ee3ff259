// Which authorization server this console signs in with, as the server says at /console/config.json:
// stella's own authority (same origin) or an external OIDC provider (console.oidc in stella.yaml).
import { SignInError } from './errors.ts';

export interface SignInProvider {
  authorizationEndpoint: string;
  tokenEndpoint: string;
  clientId: string;
  scope: string;
  /** false: stella's own authority, whose sign-in session the console can end. */
  external: boolean;
}

let loading: Promise<SignInProvider> | undefined;

/** Read once per page load; a failed read is tried again on the next call. */
export function signInProvider(): Promise<SignInProvider> {
  loading ??= load().catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

async function load(): Promise<SignInProvider> {
  const response = await fetch('/console/config.json', { headers: { accept: 'application/json' } });
  if (!response.ok) {
    throw new SignInError(
      'Sign-in unavailable',
      `GET /console/config.json answered ${response.status}; the server cannot say where to sign in.`,
      String(response.status),
    );
  }
  return (await response.json()) as SignInProvider;
}
