// Talks to a stella server over HTTP: obtains a token (flag, env, client credentials, or the local
// credentials file written on first start) and turns problem+json answers into coded CLI errors.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ExitCode, lookupError } from '@stella/core';
import type { LoadedConfig } from '../config/index.ts';
import { CliError, type CliIo, type GlobalOptions } from './io.ts';

export interface ApiClient {
  token(scope?: string): Promise<string>;
  request(method: string, path: string, options?: RequestOptions): Promise<Response>;
  json<T>(method: string, path: string, options?: RequestOptions): Promise<T>;
}

export interface RequestOptions {
  body?: unknown;
  /** A body sent as is (NDJSON, a raw document), instead of JSON-encoding `body`. */
  rawBody?: { contentType: string; data: string | Uint8Array };
  headers?: Record<string, string>;
  query?: Record<string, string | number | undefined>;
  scope?: string;
  /** Time limit for the whole exchange, body included; 0 for none (event streams, large downloads). Default 60 s. */
  timeoutMs?: number;
}

interface Credentials {
  clients?: Record<string, { clientId: string; clientSecret: string }>;
}

export function credentialsPath(env: CliIo['env']): string {
  return join(resolve(env.STELLA_HOME ?? './.stella'), 'credentials.json');
}

/** Where the server this machine would start listens: `server.publicUrl`, else `server.host`/`server.port`
 * of the same configuration `stella serve` loads (flags aside), so `STELLA_SERVER_PORT=9000` moves both. */
export function localServerUrl(load: () => LoadedConfig): string {
  let server = { host: '127.0.0.1', port: 8440, publicUrl: '' };
  try {
    server = load().config.server;
  } catch {
    // An invalid configuration is reported by the commands that use it; the default address stands.
  }
  if (server.publicUrl) return server.publicUrl;
  const host = server.host === '0.0.0.0' ? '127.0.0.1' : server.host === '::' ? '::1' : server.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${server.port}`;
}

export interface ApiClientOptions {
  /** Which client of the local credentials file to use when no token or client flags are given. */
  credentialsClient?: string;
}

export function createApiClient(io: CliIo, opts: GlobalOptions, clientOptions: ApiClientOptions = {}): ApiClient {
  const base = opts.server.replace(/\/+$/, '');
  let cached: { token: string; scope: string | undefined } | undefined;

  const clientCredentials = (): { id: string; secret: string } => {
    if (opts.clientId && opts.clientSecret) return { id: opts.clientId, secret: opts.clientSecret };
    const path = credentialsPath(io.env);
    let parsed: Credentials;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8')) as Credentials;
    } catch {
      throw new CliError(
        `no credentials: pass --token (STELLA_TOKEN) or --client-id/--client-secret (STELLA_CLIENT_ID/STELLA_CLIENT_SECRET); ${path} was not readable`,
        ExitCode.auth,
        'ERR_AUTH_MISSING_TOKEN',
      );
    }
    const name = clientOptions.credentialsClient ?? 'stella-admin';
    const client = parsed.clients?.[name];
    if (!client) throw new CliError(`${path} holds no ${name} client`, ExitCode.auth, 'ERR_AUTH_MISSING_TOKEN');
    return { id: client.clientId, secret: client.clientSecret };
  };

  const fetchOrFail = async (url: string, init: RequestInit, timeoutMs = 60_000): Promise<Response> => {
    try {
      return await fetch(url, { ...init, ...(timeoutMs > 0 ? { signal: AbortSignal.timeout(timeoutMs) } : {}) });
    } catch (error) {
      throw new CliError(
        `cannot reach ${base}: ${(error as Error).cause ? String((error as { cause: unknown }).cause) : (error as Error).message}. Is \`stella serve\` running? (--server / STELLA_SERVER)`,
        ExitCode.transport,
        'ERR_TRANSPORT',
      );
    }
  };

  const token = async (scope?: string): Promise<string> => {
    if (opts.token) return opts.token;
    if (cached && cached.scope === scope) return cached.token;
    const { id, secret } = clientCredentials();
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret });
    if (scope) form.set('scope', scope);
    if (opts.tenant) form.set('tenant', opts.tenant);
    const response = await fetchOrFail(`${base}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    const body = (await response.json().catch(() => ({}))) as Record<string, string>;
    if (!response.ok) {
      throw new CliError(
        `token request refused: ${body.error ?? response.status}${body.error_description ? `: ${body.error_description}` : ''}`,
        ExitCode.auth,
        'ERR_AUTH_TOKEN',
      );
    }
    cached = { token: body.access_token!, scope };
    return body.access_token!;
  };

  const request = async (method: string, path: string, options: RequestOptions = {}): Promise<Response> => {
    const url = new URL(`${base}${path}`);
    for (const [k, v] of Object.entries(options.query ?? {}))
      if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const headers: Record<string, string> = {
      authorization: `Bearer ${await token(options.scope)}`,
      'x-stella-tenant': opts.tenant,
      ...options.headers,
    };
    let body: string | Uint8Array | undefined;
    if (options.rawBody) {
      headers['content-type'] = options.rawBody.contentType;
      body = options.rawBody.data;
    } else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    const response = await fetchOrFail(url.toString(), { method, headers, body }, options.timeoutMs);
    if (!response.ok) await throwProblem(response);
    return response;
  };

  return {
    token,
    request,
    async json<T>(method: string, path: string, options?: RequestOptions): Promise<T> {
      const response = await request(method, path, options);
      return (await response.json()) as T;
    },
  };
}

async function throwProblem(response: Response): Promise<never> {
  const text = await response.text();
  let problem: { code?: string; detail?: string; message?: string; error?: string; [k: string]: unknown } = {};
  try {
    problem = JSON.parse(text);
  } catch {
    // not JSON: keep the status line
  }
  const registered = problem.code ? lookupError(problem.code) : undefined;
  const exit = registered
    ? registered.exit
    : response.status === 401 || response.status === 403
      ? ExitCode.auth
      : response.status === 404
        ? ExitCode.notFound
        : response.status >= 500
          ? ExitCode.transport
          : response.status === 429
            ? ExitCode.failure
            : ExitCode.usage;
  const code = problem.code ?? problem.error ?? `HTTP_${response.status}`;
  throw new CliError(
    // The code travels as the error's code; the CLI prints it once in front of this message.
    problem.detail ?? problem.message ?? (text.slice(0, 200) || response.statusText),
    exit,
    code,
    problem,
  );
}
