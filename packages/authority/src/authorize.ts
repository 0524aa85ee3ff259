// GET/POST /authorize: the console's sign-in (authorization code with PKCE). The authority shows its
// own form, checks the password, keeps a sign-in session in an HttpOnly cookie scoped to /authorize
// (so the console can re-authorise without asking again while it lasts), lets a user with several
// tenants pick one, and sends a one-use code back to the console's callback.
import type { Db } from '@stella/platform';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type AuthorizationRequest,
  endSession,
  issueCode,
  parseAuthorizationRequest,
  redirectOf,
  sessionUser,
  startSession,
  toRedirect,
} from './codes.ts';
import { OAuthError } from './errors.ts';
import { FORM, type FormBody } from './form.ts';
import { refusedPage, signInCsp, signInPage, tenantPage } from './sign-in-page.ts';
import type { TokenThrottle } from './throttle.ts';
import { authenticateUser, findUser, MAX_PASSWORD_LENGTH } from './users.ts';

export const AUTHORIZE_PATH = '/authorize';
export const SIGN_OUT_PATH = '/authorize/sign-out';
export const SESSION_COOKIE = 'stella_session';

export interface AuthorizeDeps {
  db: Db;
  issuer: () => string;
  now: () => Date;
  sessionTtlSeconds: number;
  throttle?: TokenThrottle;
  /** Origins of other servers' consoles that sign in here (auth.consoleOrigins), as URL.origin. */
  consoleOrigins?: readonly string[];
}

/** The same words for an unknown user, a wrong password and a disabled user. */
export const SIGN_IN_FAILED = 'Wrong user name or password.';

export function registerAuthorizeRoutes(app: FastifyInstance, deps: AuthorizeDeps): void {
  const secure = () => deps.issuer().startsWith('https:');

  /** The issuer's origin and the one the browser came by (a proxy's public name, or 127.0.0.1 vs localhost). */
  const originsOf = (request: FastifyRequest) => {
    const origins = [new URL(deps.issuer()).origin];
    try {
      if (request.headers.host) origins.push(new URL(`${request.protocol}://${request.headers.host}`).origin);
    } catch {
      // A Host header that is no host name: only the issuer's origin counts.
    }
    return origins;
  };
  /** Where a code may go: those, and the consoles of other servers configured to sign in here. */
  const redirectOriginsOf = (request: FastifyRequest) => [...originsOf(request), ...(deps.consoleOrigins ?? [])];

  // same-origin, not no-referrer: under no-referrer a browser posts the form with `Origin: null`,
  // which sameOrigin() must refuse; a same-origin referrer never leaves this server.
  // `redirectUri`: the checked client redirect this page's form may end at.
  const html = (reply: FastifyReply, status: number, body: string, redirectUri?: string) =>
    reply
      .code(status)
      .header('content-security-policy', signInCsp(redirectUri))
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'same-origin')
      .header('x-frame-options', 'DENY')
      .type('text/html; charset=utf-8')
      .send(body);

  const toClient = (reply: FastifyReply, redirectUri: string, params: Record<string, string>) =>
    reply
      .code(303)
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'same-origin')
      .redirect(`${redirectUri}?${new URLSearchParams(params)}`, 303);

  const refuse = (reply: FastifyReply, error: unknown) => {
    if (!(error instanceof OAuthError)) throw error;
    const target = redirectOf(error);
    if (!target) return html(reply, error.status, refusedPage(error.error_description));
    return toClient(reply, target.redirectUri, {
      error: error.error,
      error_description: error.error_description,
      state: target.state,
    });
  };

  /** A signed-in user: a code for the tenant asked for, the only one, or the page to pick one. */
  const finish = async (
    reply: FastifyReply,
    request: AuthorizationRequest,
    user: string,
    chosen: string | undefined,
  ) => {
    const record = await findUser(deps.db, user);
    const roles = record?.roles ?? {};
    const tenants = Object.keys(roles);
    const tenant = chosen ?? request.tenant ?? (tenants.length === 1 ? tenants[0] : undefined);
    if (tenants.length === 0) {
      return refuse(
        reply,
        toRedirect(new OAuthError('access_denied', `user ${user} has no tenant; ask an administrator`), request),
      );
    }
    if (tenant === undefined) return html(reply, 200, tenantPage(request, user, roles), request.redirectUri);
    if (!(tenant in roles)) {
      return html(
        reply,
        403,
        tenantPage(request, user, roles, `You have no role in tenant ${tenant}.`),
        request.redirectUri,
      );
    }
    const code = await issueCode(deps.db, { user, tenant, request, now: deps.now() });
    return toClient(reply, request.redirectUri, { code, state: request.state });
  };

  app.get(
    AUTHORIZE_PATH,
    {
      schema: {
        tags: ['authority'],
        summary: 'Console sign-in (OAuth 2.0 authorization code with PKCE S256)',
        description:
          'Shows the sign-in form, or with a live sign-in session sends a code to the console at once. Only the public client `stella-console` with redirect_uri `<this server>/console/callback`.',
      },
      config: { rateLimit: false },
    },
    async (request, reply) => {
      let authorization: AuthorizationRequest;
      try {
        authorization = parseAuthorizationRequest(request.query as Record<string, string>, redirectOriginsOf(request));
      } catch (error) {
        return refuse(reply, error);
      }
      const user = await sessionUser(deps.db, cookieOf(request), deps.now());
      if (user) return finish(reply, authorization, user, undefined);
      return html(reply, 200, signInPage(authorization), authorization.redirectUri);
    },
  );

  app.post(
    AUTHORIZE_PATH,
    {
      schema: {
        tags: ['authority'],
        summary: 'Console sign-in form submission (username and password, or the tenant chosen)',
      },
      config: { rateLimit: false },
    },
    async (request, reply) => {
      if (!sameOrigin(request, originsOf(request))) {
        return html(reply, 403, refusedPage('The sign-in form was sent from another site.'));
      }
      const body = formOf(request);
      if (!body) return html(reply, 400, refusedPage('The sign-in form was not sent as the page sends it.'));
      let authorization: AuthorizationRequest;
      try {
        authorization = parseAuthorizationRequest(body, redirectOriginsOf(request));
      } catch (error) {
        return refuse(reply, error);
      }
      const cookie = cookieOf(request);
      if (body.username === undefined) {
        // The tenant step: the session set by the password step says who this is.
        const user = await sessionUser(deps.db, cookie, deps.now());
        if (!user)
          return html(
            reply,
            401,
            signInPage(authorization, { error: 'Your sign-in expired; sign in again.' }),
            authorization.redirectUri,
          );
        return finish(reply, authorization, user, body.tenant);
      }
      const username = body.username.slice(0, 200);
      const outcome = await authenticateUser(
        deps.db,
        username,
        (body.password ?? '').slice(0, MAX_PASSWORD_LENGTH + 1),
        {
          address: request.ip,
          ...(deps.throttle ? { throttle: deps.throttle } : {}),
        },
      );
      if (outcome === undefined) {
        request.log.info({ user: username.slice(0, 64) }, 'console sign-in failed');
        return html(
          reply,
          401,
          signInPage(authorization, { username, error: SIGN_IN_FAILED }),
          authorization.redirectUri,
        );
      }
      if ('refused' in outcome) {
        reply.header('retry-after', String(outcome.retryAfterSeconds));
        return html(
          reply,
          429,
          signInPage(authorization, {
            username,
            error: `Too many failed sign-ins; try again in ${outcome.retryAfterSeconds} s.`,
          }),
          authorization.redirectUri,
        );
      }
      await endSession(deps.db, cookie);
      const session = await startSession(deps.db, outcome.name, deps.now(), deps.sessionTtlSeconds);
      reply.header('set-cookie', sessionCookie(session, deps.sessionTtlSeconds, secure()));
      request.log.info({ user: outcome.name }, 'console sign-in');
      return finish(reply, authorization, outcome.name, body.tenant);
    },
  );

  app.post(
    SIGN_OUT_PATH,
    {
      schema: { tags: ['authority'], summary: 'End the console sign-in session (the cookie is cleared)' },
      config: { rateLimit: false },
    },
    async (request, reply) => {
      if (!sameOrigin(request, originsOf(request))) {
        return reply.code(403).send({ error: 'access_denied', error_description: 'sign-out from another site' });
      }
      await endSession(deps.db, cookieOf(request));
      return reply
        .code(204)
        .header('set-cookie', sessionCookie('', 0, secure()))
        .send();
    },
  );
}

function sessionCookie(value: string, maxAge: number, secure: boolean): string {
  // Strict: the cookie never rides on a request another site starts; Path: only /authorize reads it.
  return `${SESSION_COOKIE}=${value}; Path=${AUTHORIZE_PATH}; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

function cookieOf(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

/**
 * Browsers send Origin (and Sec-Fetch-Site) on a form POST; a sign-in posted from another site would
 * sign the victim in as the attacker (login CSRF). A request without either is not from a browser
 * page of another site, so a script or curl may still sign in.
 */
function sameOrigin(request: FastifyRequest, origins: readonly string[]): boolean {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return false;
  const origin = request.headers.origin;
  return origin === undefined || origins.includes(origin);
}

/** The form's fields, one value each; undefined for anything this page's form would not send. */
function formOf(request: FastifyRequest): Record<string, string | undefined> | undefined {
  const type = String(request.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (type !== FORM) return undefined;
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries((request.body ?? {}) as FormBody)) {
    if (typeof value !== 'string') return undefined;
    out[name] = value;
  }
  return out;
}
