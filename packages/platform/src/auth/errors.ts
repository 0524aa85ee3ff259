// Error codes of the resource-server side of authentication: every route that needs a token answers
// with these, so the CLI maps all of them (except a malformed tenant id) to exit code 71. The last one
// is the CLI's own, for a token request the token endpoint refused (it answers in the OAuth shape).
import { defineError, ExitCode } from '@stella/core';

export const AuthErrors = {
  missingToken: defineError({
    code: 'ERR_AUTH_MISSING_TOKEN',
    status: 401,
    exit: ExitCode.auth,
    title: 'Missing bearer token',
    hint: 'Send Authorization: Bearer <token>; get a token from POST /token with your client credentials (see $STELLA_HOME/credentials.json).',
  }),
  invalidToken: defineError({
    code: 'ERR_AUTH_INVALID_TOKEN',
    status: 401,
    exit: ExitCode.auth,
    title: 'Invalid bearer token',
    hint: 'Request a new token from POST /token; check that the server clock, issuer (server.publicUrl) and auth.audience match the issuing authority.',
  }),
  scope: defineError({
    code: 'ERR_AUTH_SCOPE',
    status: 403,
    exit: ExitCode.auth,
    title: 'Token lacks a required scope',
    hint: 'Request a token with the named scope, using a client that is allowed it.',
  }),
  tenantRequired: defineError({
    code: 'ERR_AUTH_TENANT_REQUIRED',
    status: 400,
    exit: ExitCode.auth,
    title: 'Tenant not specified',
    hint: 'The token is valid for several tenants: send the X-Stella-Tenant header (CLI: --tenant or STELLA_TENANT).',
  }),
  tenantDisabled: defineError({
    code: 'ERR_AUTH_TENANT_DISABLED',
    status: 403,
    exit: ExitCode.auth,
    title: 'Tenant is disabled',
    hint: 'A platform administrator disabled this tenant: its tokens are refused and no new ones are issued. `stella tenants enable <tenant>` (scope tenant:admin) turns it back on.',
  }),
  tenantForbidden: defineError({
    code: 'ERR_AUTH_TENANT_FORBIDDEN',
    status: 403,
    exit: ExitCode.auth,
    title: 'Token is not valid for this tenant',
    hint: 'Use a tenant listed in the token (tid claim) or request a token for a client assigned to that tenant.',
  }),
  invalidTenant: defineError({
    code: 'ERR_AUTH_INVALID_TENANT',
    status: 400,
    exit: ExitCode.usage,
    title: 'Malformed tenant id',
    hint: 'Tenant ids are lower-case letters, digits and inner hyphens (^[a-z0-9]([a-z0-9-]*[a-z0-9])?$), at most 63 characters.',
  }),
  tokenRefused: defineError({
    code: 'ERR_AUTH_TOKEN',
    status: 401,
    exit: ExitCode.auth,
    title: 'The token endpoint refused the token request',
    hint: 'The message carries the OAuth error: invalid_client means wrong --client-id/--client-secret (STELLA_CLIENT_ID/STELLA_CLIENT_SECRET) or a stale $STELLA_HOME/credentials.json; invalid_scope means the client is not assigned that scope or tenant; slow_down means wait the seconds it names and retry.',
  }),
} as const;
