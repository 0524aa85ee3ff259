// The console as a room of the server: serves the Vite build at /console/, answers every client-side
// route with the single page, and sends / there. Public routes: the page signs in by itself and every
// API call it makes carries the user's token.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Errors, StellaError } from '@stella/core';
import type { FastifyReply, HttpApp, Module } from '@stella/platform';
import { CONSOLE_HEADERS, consoleTarget, REVALIDATE_CACHE } from './static.ts';

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
    routes(app) {
      registerConsoleRoutes(app, distDir);
    },
  };
}

export const consoleModule: Module = createConsoleModule();

/** GET /, /console, /console/ and /console/*, hidden from the OpenAPI document (they are not API). */
export function registerConsoleRoutes(app: HttpApp, distDir: string): void {
  const options = {
    schema: { hide: true },
    // Error answers (404, 400, 503) carry the policy too: a page that failed must not run anything either.
    onSend: async (_request: unknown, reply: FastifyReply, payload: unknown) => {
      reply.headers(CONSOLE_HEADERS);
      return payload;
    },
  };
  app.get('/', options, async (_request, reply) => reply.redirect('/console/', 302));
  app.get('/console', options, async (_request, reply) => reply.redirect('/console/', 302));
  app.get('/console/', options, async (_request, reply) => serveConsole(reply, distDir, ''));
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
