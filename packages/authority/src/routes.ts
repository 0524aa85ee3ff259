// The authority's HTTP face: the OAuth2 token endpoint (client_credentials, RFC 6749 §4.4, and the
// console's authorization_code with PKCE, §4.1 and RFC 7636), the console's sign-in at /authorize,
// the public JWKS and the discovery document. These routes are public: they are where tokens come from.
import { systemClock } from '@stella/core';
import type { Db, KeyEncryptionKey } from '@stella/platform';
import { SCOPES } from '@stella/platform';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { AUTHORIZE_PATH, registerAuthorizeRoutes } from './authorize.ts';
import { CONSOLE_CLIENT_ID } from './codes.ts';
import { OAuthError } from './errors.ts';
import { FORM, type FormBody, parseForm, single } from './form.ts';
import { jwks } from './keys.ts';
import type { TokenThrottle } from './throttle.ts';
import { issueToken, issueUserToken } from './tokens.ts';

export interface AuthorityRouteDeps {
  db: Db;
  /** Base URL of this server; tokens carry it as `iss`. A function because the port may be chosen late. */
  issuer: () => string;
  config: { audience: string; tokenTtlSeconds: number; clockSkewSeconds: number; sessionTtlSeconds?: number };
  now?: () => Date;
  /** Backs off failed client authentications (the module always passes one). */
  throttle?: TokenThrottle;
  /** Default: the KEK attached to `db`. */
  kek?: KeyEncryptionKey;
  /** auth.consoleOrigins: consoles elsewhere that sign in here and redeem their codes from the browser. */
  consoleOrigins?: readonly string[];
}

export const TOKEN_PATH = '/token';
export const JWKS_PATH = '/.well-known/jwks.json';
export const DISCOVERY_PATH = '/.well-known/openid-configuration';

/** A console sign-in lasts a working day unless auth.sessionTtlSeconds says otherwise. */
const DEFAULT_SESSION_TTL_SECONDS = 8 * 3600;
/** A token request is a handful of short fields; 16 KiB leaves room without inviting large bodies. */
const FORM_BODY_LIMIT = 16_384;
/**
 * Verifiers refetch on an unknown kid anyway; a minute keeps caches from hammering us while letting
 * a retired key disappear from caches soon after it is pruned.
 */
const JWKS_MAX_AGE_SECONDS = 60;

const OAuthErrorSchema = Type.Object(
  {
    error: Type.String({ description: 'RFC 6749 §5.2 error code, e.g. invalid_client, invalid_scope.' }),
    error_description: Type.String(),
  },
  { description: 'OAuth 2.0 error (not problem+json, so standard OAuth clients can read it).' },
);

const TokenRequestSchema = Type.Object(
  {
    grant_type: Type.String({ description: 'client_credentials, or authorization_code for the console.' }),
    client_id: Type.Optional(Type.String({ description: 'Client id (client_secret_post); or use HTTP Basic.' })),
    client_secret: Type.Optional(Type.String({ description: 'Client secret (client_secret_post).' })),
    scope: Type.Optional(
      Type.String({ description: 'Space-separated scopes; omitted means every scope the client is allowed.' }),
    ),
    tenant: Type.Optional(
      Type.String({ description: "One of the client's tenants; omitted means all of them (tid claim)." }),
    ),
    code: Type.Optional(Type.String({ description: 'authorization_code: the code sent to the redirect URI.' })),
    redirect_uri: Type.Optional(Type.String({ description: 'authorization_code: as in the authorization request.' })),
    code_verifier: Type.Optional(Type.String({ description: 'authorization_code: the PKCE verifier (RFC 7636).' })),
  },
  { additionalProperties: true },
);

const TokenResponseSchema = Type.Object({
  access_token: Type.String({ description: 'EdDSA-signed JWT (typ at+jwt).' }),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Seconds until the token expires.' }),
  scope: Type.String({ description: 'The granted scopes, space-separated.' }),
});

const JwkSchema = Type.Object(
  {
    kty: Type.String(),
    kid: Type.String(),
    alg: Type.String(),
    use: Type.String(),
    crv: Type.Optional(Type.String()),
    x: Type.Optional(Type.String()),
    y: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

const DiscoverySchema = Type.Object({
  issuer: Type.String(),
  jwks_uri: Type.String(),
  token_endpoint: Type.String(),
  authorization_endpoint: Type.String(),
  grant_types_supported: Type.Array(Type.String()),
  response_types_supported: Type.Array(Type.String()),
  code_challenge_methods_supported: Type.Array(Type.String()),
  scopes_supported: Type.Array(Type.String()),
  token_endpoint_auth_methods_supported: Type.Array(Type.String()),
  id_token_signing_alg_values_supported: Type.Array(Type.String()),
});

export function registerAuthorityRoutes(app: FastifyInstance, deps: AuthorityRouteDeps): void {
  const now = deps.now ?? (() => systemClock.now());
  const base = () => deps.issuer().replace(/\/+$/, '');
  const consoleOrigins = (deps.consoleOrigins ?? []).map((origin) => new URL(origin).origin);

  // RFC 6749 §4.4.2 token requests are form-encoded. Added only if no one else did, and JSON parsing
  // for the other routes is untouched.
  if (!app.hasContentTypeParser(FORM)) {
    app.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_request, body, done) => {
      done(null, parseForm(body as string));
    });
  }

  app.post(
    TOKEN_PATH,
    {
      schema: {
        tags: ['authority'],
        summary: 'Issue an access token (OAuth 2.0 client_credentials, or authorization_code with PKCE)',
        description:
          "Form-encoded. client_credentials: authenticate with client_id/client_secret in the body or HTTP Basic. authorization_code: the public client `stella-console` with code, redirect_uri and code_verifier; the token is the user's (`sub` user:<name>, `tid` the tenant chosen, the scopes of the role there). Errors follow RFC 6749 §5.2. Failed client authentications back off per client id and source address: 429 `slow_down` with Retry-After; a client presenting its correct secret is not held up by them.",
        consumes: [FORM],
        body: TokenRequestSchema,
        response: { 200: TokenResponseSchema, 400: OAuthErrorSchema, 401: OAuthErrorSchema, 429: OAuthErrorSchema },
      },
      // Failed client authentication backs off per client id and address (throttle.ts) instead.
      config: { rateLimit: false },
      // A console on another configured origin posts its code from the browser (a CORS "simple"
      // request: form body, no preflight) and may read the answer, errors included. No credentials:
      // the code and verifier are the proof, not a cookie.
      onSend: async (request, reply, payload) => {
        const origin = request.headers.origin;
        reply.header('vary', 'Origin');
        if (origin && consoleOrigins.includes(origin)) reply.header('access-control-allow-origin', origin);
        return payload;
      },
      // Validation and parse failures must come back in the OAuth shape, not as problem+json.
      attachValidation: true,
      errorHandler: (error, request, reply) => sendOAuthError(request, reply, toOAuthError(error, request)),
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      const body = formBodyOf(request);
      const grantType = single(body, 'grant_type');
      if (!grantType) throw new OAuthError('invalid_request', 'grant_type is required (client_credentials)');
      if (grantType === 'authorization_code') {
        if (request.headers.authorization !== undefined || single(body, 'client_secret') !== undefined) {
          throw new OAuthError('invalid_client', `${CONSOLE_CLIENT_ID} is a public client: send no secret`);
        }
        const token = await issueUserToken(deps.db, {
          clientId: single(body, 'client_id') ?? '',
          code: single(body, 'code') ?? '',
          redirectUri: single(body, 'redirect_uri') ?? '',
          codeVerifier: single(body, 'code_verifier') ?? '',
          issuer: deps.issuer(),
          audience: deps.config.audience,
          ttlSeconds: deps.config.tokenTtlSeconds,
          now: now(),
          ...(deps.kek ? { kek: deps.kek } : {}),
        });
        return reply.code(200).send(token);
      }
      if (grantType !== 'client_credentials') {
        throw new OAuthError(
          'unsupported_grant_type',
          'grant_type must be client_credentials (or authorization_code for the console)',
        );
      }
      const credentials = clientCredentials(request, body);
      const token = await issueToken(deps.db, {
        ...credentials,
        scope: single(body, 'scope'),
        tenant: single(body, 'tenant'),
        issuer: deps.issuer(),
        audience: deps.config.audience,
        ttlSeconds: deps.config.tokenTtlSeconds,
        now: now(),
        address: request.ip,
        ...(deps.throttle ? { throttle: deps.throttle } : {}),
        ...(deps.kek ? { kek: deps.kek } : {}),
      });
      return reply.code(200).send(token);
    },
  );

  registerAuthorizeRoutes(app, {
    db: deps.db,
    issuer: deps.issuer,
    now,
    sessionTtlSeconds: deps.config.sessionTtlSeconds ?? DEFAULT_SESSION_TTL_SECONDS,
    consoleOrigins,
    ...(deps.throttle ? { throttle: deps.throttle } : {}),
  });

  app.get(
    JWKS_PATH,
    {
      schema: {
        tags: ['authority'],
        summary: 'Public token signing keys (active and recently retired)',
        response: { 200: Type.Object({ keys: Type.Array(JwkSchema) }) },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
      return jwks(deps.db, now());
    },
  );

  app.get(
    DISCOVERY_PATH,
    {
      schema: {
        tags: ['authority'],
        summary: 'OpenID Connect discovery document for the built-in authority',
        response: { 200: DiscoverySchema },
      },
    },
    async () => ({
      issuer: deps.issuer(),
      jwks_uri: `${base()}${JWKS_PATH}`,
      token_endpoint: `${base()}${TOKEN_PATH}`,
      authorization_endpoint: `${base()}${AUTHORIZE_PATH}`,
      grant_types_supported: ['client_credentials', 'authorization_code'],
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      scopes_supported: [...SCOPES],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic', 'none'],
      id_token_signing_alg_values_supported: ['EdDSA'],
    }),
  );
}

function formBodyOf(request: FastifyRequest): FormBody {
  const type = String(request.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (type !== FORM) {
    throw new OAuthError(
      'invalid_request',
      `token requests must be sent as ${FORM} (RFC 6749 §4.4.2), not ${type ? type.slice(0, 100) : 'an empty body'}`,
    );
  }
  return (request.body ?? {}) as FormBody;
}

/** client_secret_basic or client_secret_post, never both (RFC 6749 §2.3.1). */
function clientCredentials(request: FastifyRequest, body: FormBody): { clientId: string; clientSecret: string } {
  const bodyId = single(body, 'client_id');
  const bodySecret = single(body, 'client_secret');
  const basic = basicCredentials(request);
  if (!basic) return { clientId: bodyId ?? '', clientSecret: bodySecret ?? '' };
  if (bodySecret !== undefined) {
    throw new OAuthError('invalid_request', 'use one client authentication method: HTTP Basic or client_secret');
  }
  if (bodyId !== undefined && bodyId !== basic.clientId) {
    throw new OAuthError('invalid_request', 'client_id in the body differs from the HTTP Basic user');
  }
  return basic;
}

function basicCredentials(request: FastifyRequest): { clientId: string; clientSecret: string } | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || !/^basic\s/i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new OAuthError('invalid_client', 'malformed HTTP Basic credentials');
  try {
    // The id and secret are form-encoded before Basic encoding (RFC 6749 §2.3.1).
    const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    return { clientId: formDecode(decoded.slice(0, colon)), clientSecret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw new OAuthError('invalid_client', 'malformed HTTP Basic credentials');
  }
}

function toOAuthError(error: unknown, request: FastifyRequest): OAuthError {
  if (error instanceof OAuthError) return error;
  const fe = error as FastifyError;
  if (fe?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new OAuthError('invalid_request', `request body exceeds ${FORM_BODY_LIMIT} bytes`, {
      cause: error,
      status: 413,
    });
  }
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Body parsing and media-type failures: RFC 6749 reports every malformed request as 400.
    const text =
      fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? `token requests must be sent as ${FORM} (RFC 6749 §4.4.2)`
        : 'malformed request body';
    return new OAuthError('invalid_request', text, { cause: error });
  }
  request.log.error({ err: error }, 'token endpoint failed');
  return new OAuthError('server_error', 'internal error; retry, and report the request id if it persists', {
    cause: error,
  });
}

function sendOAuthError(request: FastifyRequest, reply: FastifyReply, error: OAuthError): FastifyReply {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
  // RFC 6749 §5.2: a client that tried HTTP Basic is told which scheme to use again.
  if (error.error === 'invalid_client' && /^basic\s/i.test(String(request.headers.authorization ?? ''))) {
    reply.header('www-authenticate', 'Basic realm="stella", charset="UTF-8"');
  }
  return reply.code(error.status).type('application/json').send(error.toJSON());
}
