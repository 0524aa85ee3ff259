// The console as a room of the server: serves the Vite build at /console/, answers every client-side
// route with the single page, and sends / there. Public routes: the page signs in by itself and every
// API call it makes carries the user's token.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Errors, StellaError } from '@stella/core';
import type { Config, FastifyReply, HttpApp, Module } from '@stella/platform';
import { consoleConfig } from './config.ts';
import { consoleHeaders, consoleTarget, REVALIDATE_CACHE } from './static.ts';

/** What builds dist/; `npm ci` runs it through the root `prepare` script. */
export const CONSOLE_BUILD_COMMAND = 'npm run build -w @stella/console';

const DEFAULT_DIST = new URL('../dist/', import.meta.url).pathname;

export interface ConsoleModuleOptions {
  /** The Vite build to serve; default packages/console/dist. */
  distDir?: string;
}

export function createConsoleModule(options: ConsoleModuleOptions = {}): Module {
  const distDir = options.distDir ?? DEFAULT_DIST;
  return {
    name: 'console',
    config: consoleConfig,
    routes(app, ctx) {
      registerConsoleRoutes(app, distDir, signInProvider(ctx.config));
    },
  };
}

/** What the page reads from /console/config.json before it signs anyone in. */
export interface SignInProvider {
  authorizationEndpoint: string;
  tokenEndpoint: string;
  clientId: string;
  scope: string;
  /** false: stella's own authority, which also ends its sign-in session at /authorize/sign-out. */
  external: boolean;
}

/** The built-in authority, or the external provider of console.oidc; a half-set provider stops start-up. */
export function signInProvider(config: Pick<Config, 'auth' | 'console'>): SignInProvider {
  const { authorizationEndpoint, tokenEndpoint, clientId, scope } = config.console.oidc;
  if (!authorizationEndpoint && !tokenEndpoint) {
    return {
      authorizationEndpoint: '/authorize',
      tokenEndpoint: '/token',
      clientId: 'stella-console',
      scope: '',
      external: false,
    };
  }
  const refuse = (detail: string) => new StellaError(Errors.config, `invalid configuration: console.oidc ${detail}`);
  if (!authorizationEndpoint || !tokenEndpoint) {
    throw refuse('needs both authorizationEndpoint and tokenEndpoint, or neither (the built-in authority)');
  }
  for (const [key, value] of Object.entries({ authorizationEndpoint, tokenEndpoint })) {
    if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
      throw refuse(`${key} must be an absolute http(s) URL, got ${JSON.stringify(value)}`);
    }
  }
  if (!config.auth.externalIssuer || !config.auth.externalJwksUrl) {
    throw refuse(
      "is set but auth.externalIssuer/auth.externalJwksUrl are not: the API would refuse the provider's tokens",
    );
  }
  return { authorizationEndpoint, tokenEndpoint, clientId, scope, external: true };
}

export const consoleModule: Module = createConsoleModule();

/** GET /, /console, /console/ and /console/*, hidden from the OpenAPI document (they are not API). */
export function registerConsoleRoutes(app: HttpApp, distDir: string, provider: SignInProvider): void {
  // The page may fetch from its own origin, and from an external provider's token endpoint to redeem a code.
  const headers = consoleHeaders(provider.external ? [new URL(provider.tokenEndpoint).origin] : []);
  const options = {
    schema: { hide: true },
    // Error answers (404, 400, 503) carry the policy too: a page that failed must not run anything either.
    onSend: async (_request: unknown, reply: FastifyReply, payload: unknown) => {
      reply.headers(headers);
      return payload;
    },
  };
  app.get('/', options, async (_request, reply) => reply.redirect('/console/', 302));
  app.get('/console', options, async (_request, reply) => reply.redirect('/console/', 302));
  app.get('/console/', options, async (_request, reply) => serveConsole(reply, distDir, ''));
  app.get('/console/config.json', options, async (_request, reply) =>
    reply.header('cache-control', 'no-store').send(provider),
  );
  app.get<{ Params: { '*': string } }>('/console/*', options, async (request, reply) =>
    serveConsole(reply, distDir, request.params['*']),
  );
}

async function serveConsole(reply: FastifyReply, distDir: string, relativePath: string): Promise<FastifyReply> {
  const target = consoleTarget(distDir, relativePath);
  if (target.kind === 'refused') throw new StellaError(Errors.validation, `console path refused: ${target.reason}`);
  if (target.kind === 'page') {
    const page = await readIfPresent(join(distDir, 'index.html'));
    if (!page) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(`The console is not built. Run \`${CONSOLE_BUILD_COMMAND}\` (npm ci runs it), then reload.\n`);
    }
    return reply.type('text/html; charset=utf-8').header('cache-control', REVALIDATE_CACHE).send(page);
  }
  const body = await readIfPresent(target.path);
  if (!body) throw new StellaError(Errors.notFound, `no console file /console/${relativePath}`);
  return reply.type(target.contentType).header('cache-control', target.cacheControl).send(body);
}

/** The file's bytes, or undefined when it does not exist (or is a directory). */
async function readIfPresent(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}
