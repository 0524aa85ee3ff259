// Talks to a stella server over HTTP: obtains a token (flag, env, client credentials, or the local
// credentials file written on first start) and turns problem+json answers into coded CLI errors.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type ErrorDefinition, Errors, lookupError } from '@stella/core';
import { AuthErrors } from '../auth/errors.ts';
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
  let server = { host: '127.0.0.1', port: 8440, publicUrl: '', tls: { certFile: '' } };
  try {
    server = load().config.server;
  } catch {
    // An invalid configuration is reported by the commands that use it; the default address stands.
  }
  if (server.publicUrl) return server.publicUrl;
  const host = server.host === '0.0.0.0' ? '127.0.0.1' : server.host === '::' ? '::1' : server.host;
  return `${server.tls.certFile ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${server.port}`;
}

/**
 * The read-only AOC verifier's client id (auth.verifierClient, AOC_VERIFIER_USER), under which the
 * bootstrap stored its secret in the credentials file; the default when the configuration is invalid
 * (the commands that need the configuration report that).
 */
export function verifierClientId(load: () => LoadedConfig): string {
  try {
    return load().config.auth.verifierClient;
  } catch {
    return 'stella-aoc-verify';
  }
}

export interface ApiClientOptions {
  /** Which client of the local credentials file to use when no token or client flags are given. */
  credentialsClient?: string;
}

/** What the functions of one client share: where the server is, who asks, and the token last obtained. */
interface ClientState {
  io: CliIo;
  opts: GlobalOptions;
  clientOptions: ApiClientOptions;
  base: string;
  cached: { token: string; scope: string | undefined } | undefined;
}

export function createApiClient(io: CliIo, opts: GlobalOptions, clientOptions: ApiClientOptions = {}): ApiClient {
  const state: ClientState = { io, opts, clientOptions, base: opts.server.replace(/\/+$/, ''), cached: undefined };
  return {
    token: (scope) => bearerToken(state, scope),
    request: (method, path, options) => sendRequest(state, method, path, options),
    json: <T>(method: string, path: string, options?: RequestOptions) => requestJson<T>(state, method, path, options),
  };
}

/** The client id and secret: from the flags, else the named client of the local credentials file. */
function clientCredentials({ io, opts, clientOptions }: ClientState): { id: string; secret: string } {
  if (opts.clientId && opts.clientSecret) return { id: opts.clientId, secret: opts.clientSecret };
  const path = credentialsPath(io.env);
  let parsed: Credentials;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as Credentials;
  } catch (error) {
    throw new CliError(
      AuthErrors.missingToken,
      `no credentials: pass --token (STELLA_TOKEN) or --client-id/--client-secret (STELLA_CLIENT_ID/STELLA_CLIENT_SECRET); ${path} was not readable`,
      { cause: error },
    );
  }
  const name = clientOptions.credentialsClient ?? 'stella-admin';
  const client = parsed.clients?.[name];
  if (!client) throw new CliError(AuthErrors.missingToken, `${path} holds no ${name} client`);
  return { id: client.clientId, secret: client.clientSecret };
}

async function fetchOrFail(state: ClientState, url: string, init: RequestInit, timeoutMs = 60_000): Promise<Response> {
  try {
    return await fetch(url, { ...init, ...(timeoutMs > 0 ? { signal: AbortSignal.timeout(timeoutMs) } : {}) });
  } catch (error) {
    throw new CliError(
      Errors.transport,
      `cannot reach ${state.base}: ${(error as Error).cause ? String((error as { cause: unknown }).cause) : (error as Error).message}. Is \`stella serve\` running? (--server / STELLA_SERVER)`,
      { cause: error },
    );
  }
}

/** The bearer token: --token as given, else one from POST /token, reused while the scope stays the same. */
async function bearerToken(state: ClientState, scope?: string): Promise<string> {
  const { opts, base } = state;
  if (opts.token) return opts.token;
  if (state.cached && state.cached.scope === scope) return state.cached.token;
  const { id, secret } = clientCredentials(state);
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret });
  if (scope) form.set('scope', scope);
  if (opts.tenant) form.set('tenant', opts.tenant);
  const response = await fetchOrFail(state, `${base}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  const body = (await response.json().catch(() => ({}))) as Record<string, string>;
  if (!response.ok) {
    throw new CliError(
      AuthErrors.tokenRefused,
      `token request refused: ${body.error ?? response.status}${body.error_description ? `: ${body.error_description}` : ''}`,
    );
  }
  state.cached = { token: body.access_token!, scope };
  return body.access_token!;
}

async function sendRequest(
  state: ClientState,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<Response> {
  const url = new URL(`${state.base}${path}`);
  for (const [k, v] of Object.entries(options.query ?? {}))
    if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  const headers: Record<string, string> = {
    authorization: `Bearer ${await bearerToken(state, options.scope)}`,
    'x-stella-tenant': state.opts.tenant,
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
  const response = await fetchOrFail(state, url.toString(), { method, headers, body }, options.timeoutMs);
  if (!response.ok) throw problemError(response.status, response.statusText, await response.text());
  return response;
}

async function requestJson<T>(state: ClientState, method: string, path: string, options?: RequestOptions): Promise<T> {
  const response = await sendRequest(state, method, path, options);
  return (await response.json()) as T;
}

/** The entry for an answer whose code this CLI cannot map (none, or a newer server's), by HTTP status. */
function fallbackFor(status: number): ErrorDefinition {
  if (status === 401 || status === 403) return Errors.serverUnauthorized;
  if (status === 404) return Errors.notFound;
  if (status === 429) return Errors.rateLimited;
  if (status >= 500) return Errors.serverFailed;
  return Errors.serverRefused;
}

/** A problem document (RFC 9457), or the OAuth / rate-limit shape `{error, message}`. */
type ProblemBody = { code?: string; detail?: string; message?: string; error?: string; [k: string]: unknown };

/** A refused request as a CliError: the registered entry of the problem's code, else one chosen by status. */
function problemError(status: number, statusText: string, text: string): CliError {
  let problem: ProblemBody = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) problem = parsed as ProblemBody;
  } catch {
    // not JSON: keep the status line
  }
  // The code travels as the error's code; the CLI prints it once in front of the message.
  const detail = problem.detail ?? problem.message ?? (text.slice(0, 200) || statusText);
  const registered = problem.code !== undefined && lookupError(problem.code) !== undefined;
  const message = registered ? detail : `${problem.code ?? problem.error ?? `HTTP ${status}`}: ${detail}`;
  return CliError.relayed(problem.code, fallbackFor(status), message, { problem });
}
