// The HTTP factory every room mounts its routes on: Fastify with TypeBox schemas, problem+json
// errors from the registry, request ids, auth and tenant resolution, rate limits, metrics,
// readiness and the request deadline. Rooms declare `config: { auth: { scopes } }` on a route; this
// file enforces it.

import type { TlsOptions } from 'node:tls';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Errors, type JsonLimits, newUlid, StellaError } from '@stella/core';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import type { Registry } from 'prom-client';
import { AuthErrors, authorize, type Principal, type TokenVerifier } from '../auth/index.ts';
import { createWorkTracker, type Db, type WorkTracker } from '../db/index.ts';
import { counter, histogram } from '../metrics/index.ts';
import { type RateLimiter, rateLimitHook } from '../ratelimit/index.ts';
import type { Tracing } from '../telemetry/index.ts';
import { clientErrorHandler } from './client-error.ts';
import { idempotencyHooks } from './idempotency.ts';
import { checkRequestInput, DEFAULT_INPUT_LIMITS, type InputLimits, jsonLimitsOf, parseJsonBody } from './input.ts';
import type { Logger } from './logger.ts';
import { documentRouteAuth, openApiRoute, registerOpenApi } from './openapi.ts';
import { sendProblem, toStellaError } from './problem.ts';
import { createReadiness, healthRoutes, type ReadinessState } from './readiness.ts';
import { drainRefusedBody } from './refused-body.ts';
import { headerValue } from './request.ts';
import { DEFAULT_REQUEST_DEADLINE_MS, trackRequestWork } from './request-work.ts';
import { type StorageHealth, storageFaultOf, storageUnavailableError } from './storage-health.ts';

export interface RouteAuth {
  /** Every scope listed is required. */
  scopes: string[];
  /** false for routes that are not tenant-scoped (e.g. key rotation); default true. */
  tenant?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
    /** false: the router rate limiter skips this route (it throttles itself). */
    rateLimit?: boolean;
    /**
     * This route's request deadline in ms instead of server.requestTimeoutMs; false for none (a route
     * that works long before its first byte). Routes that stream their answer need neither: the
     * deadline ends once response headers are sent.
     */
    deadlineMs?: number | false;
  }
  interface FastifyRequest {
    principal: Principal | undefined;
    tenant: string | undefined;
  }
}

export type HttpApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface HttpAppOptions {
  logger: Logger;
  /** Refuses a tenant the request may act for (disabled), after its token was checked. */
  tenantGate?: ((tenant: string) => Promise<void>) | undefined;
  /** Serve HTTPS with these options (tlsServerOptions of server.tls); absent: plain HTTP. */
  tls?: TlsOptions | undefined;
  registry: Registry;
  requestBodyBytes: number;
  /** JSON and identifier caps (config `limits`); the config schema's defaults when left out. */
  limits?: Partial<InputLimits> | undefined;
  /**
   * Longest time to receive a whole request, headers and body; Node answers 408 after it. Bounds a client
   * that stalls mid-body. Default 300 s (Node's own default, which Fastify turns off).
   */
  requestTimeoutMs?: number | undefined;
  tenantHeader: string;
  verifier: TokenVerifier;
  rateLimiter?: RateLimiter;
  /**
   * Longest time from the last body byte to the response headers (config server.requestTimeoutMs):
   * after it the answer is 503 ERR_REQUEST_DEADLINE and the request's work is aborted, which cancels
   * its database statements. 0 turns it off. Default 60 s.
   */
  requestDeadlineMs?: number | undefined;
  /** Where requests are registered as in-flight work (shared with jobs for shutdown); default: the app's own. */
  work?: WorkTracker | undefined;
  /** Storage faults seen by requests turn readiness 503 through it; without it they still answer 503. */
  storage?: StorageHealth | undefined;
  /** Enables Idempotency-Key on routes with `config: { idempotent: true }`. */
  db?: Db;
  docsUi?: boolean;
  version: string;
  /** A span per request (telemetry.tracing); absent: no tracing hook at all. */
  tracing?: Pick<Tracing, 'instrumentHttp'> | undefined;
}

export interface Readiness {
  /** A dependency check: resolves when healthy, throws with a reason otherwise. */
  addCheck(name: string, check: () => Promise<void>): void;
  /** Called once migrations ran and workers started; /readyz answers 503 before that. */
  markStarted(): void;
  /** Called on SIGTERM so load balancers stop sending traffic while in-flight requests drain. */
  markStopping(): void;
}

const REQUEST_ID_RE = /^[\w.:-]{1,128}$/;
const ALT_TENANT_HEADER = 'x-stellaops-tenant';
const DEFAULT_REQUEST_TIMEOUT_MS = 300_000;
const HEADERS_TIMEOUT_MS = 60_000;
/** Node checks request timeouts on an interval (30 s by default), so a short timeout needs a short interval. */
const MAX_TIMEOUT_CHECK_INTERVAL_MS = 5_000;

export async function createHttpApp(options: HttpAppOptions): Promise<{ app: HttpApp; readiness: Readiness }> {
  const limits: InputLimits = { ...DEFAULT_INPUT_LIMITS, ...definedOnly(options.limits ?? {}) };
  const jsonLimits = jsonLimitsOf(limits);
  const app = newFastify(options, limits);
  // First, so every later hook, route and query runs inside the request's span.
  options.tracing?.instrumentHttp(app);
  capJsonBodies(app, jsonLimits);
  const { state, readiness } = createReadiness();
  const work = options.work ?? createWorkTracker();

  app.decorateRequest('principal', undefined);
  app.decorateRequest('tenant', undefined);
  await registerOpenApi(app, options);
  trackRequestWork(app, { work, deadlineMs: options.requestDeadlineMs ?? DEFAULT_REQUEST_DEADLINE_MS });
  documentRouteAuth(app, options.tenantHeader);

  checkRequests(app, options, limits);
  if (options.rateLimiter) limitRates(app, options.rateLimiter);
  if (options.db) enableIdempotency(app, options.db);
  closeWhenDraining(app, state);
  observeResponses(app, options.registry);
  handleErrors(app, options.storage);

  healthRoutes(app, state);
  metricsRoute(app, options.registry);
  openApiRoute(app);
  return { app, readiness };
}

/** Fastify with stella's request ids, timeouts, validator settings and problem+json for its own errors. */
function newFastify(options: HttpAppOptions, limits: InputLimits): HttpApp {
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  return Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // One log line per request is written in onResponse, with tenant and status.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.requestBodyBytes,
    requestIdHeader: false,
    genReqId: (req) => {
      const incoming = req.headers['x-stella-request-id'];
      return typeof incoming === 'string' && REQUEST_ID_RE.test(incoming) ? incoming : newUlid();
    },
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Record ids embed upstream ids, which may be URLs (OpenVEX @id); find-my-way's default of 100
    // characters would refuse those. Longer (decoded) params are ERR_LIMIT_IDENTIFIER_LENGTH.
    routerOptions: { maxParamLength: limits.identifierLength },
    requestTimeout,
    // Node enforces requestTimeout only when headersTimeout is not longer than it (60 s is Node's default).
    // With TLS, Fastify creates an https server from `https` alone, so the same timeouts go there too.
    ...(options.tls
      ? { https: { ...options.tls, ...serverTimeouts(requestTimeout) } }
      : { http: serverTimeouts(requestTimeout) }),
    clientErrorHandler: clientErrorHandler(options.logger),
    // Bad URL encoding, over-long params and the like are answered before any hook: same problem+json.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-stella-request-id', request.id);
      return sendProblem(reply as FastifyReply, request as FastifyRequest, toStellaError(error));
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
}

function serverTimeouts(requestTimeout: number) {
  return {
    requestTimeout,
    headersTimeout: Math.min(HEADERS_TIMEOUT_MS, requestTimeout),
    connectionsCheckingInterval: Math.max(100, Math.min(MAX_TIMEOUT_CHECK_INTERVAL_MS, requestTimeout / 4)),
  };
}

/** Every JSON body passes the caps before it is parsed, so no route, validator or query sees more. */
function capJsonBodies(app: HttpApp, jsonLimits: JsonLimits): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string, jsonLimits));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

/** Every request echoes its id and has its params and query capped; routes that declare auth check it. */
function checkRequests(app: HttpApp, options: HttpAppOptions, limits: InputLimits): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-stella-request-id', request.id);
    // Before auth and before any route: a NUL or over-long id never reaches a query.
    checkRequestInput(request.params, request.query, limits);
    const auth = request.routeOptions.config.auth;
    if (!auth) return;
    await authenticate(request, reply, auth, options);
  });
}

/** The bearer token's principal and, for a tenant-scoped route, the tenant it may act for. */
async function authenticate(
  request: FastifyRequest,
  reply: FastifyReply,
  auth: RouteAuth,
  options: HttpAppOptions,
): Promise<void> {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!match) {
    throw new StellaError(AuthErrors.missingToken, 'missing bearer token: send Authorization: Bearer <token>', {
      headers: { 'www-authenticate': 'Bearer' },
    });
  }
  const principal = await options.verifier.verify(match[1]!);
  request.principal = principal;
  const tenantValue =
    headerValue(request, options.tenantHeader.toLowerCase()) ?? headerValue(request, ALT_TENANT_HEADER);
  const tenant = authorize(principal, {
    scopes: auth.scopes,
    tenantHeaderValue: auth.tenant === false ? undefined : tenantValue,
    tenantHeaderName: options.tenantHeader,
    tenantRequired: auth.tenant !== false,
  });
  if (tenant) {
    await options.tenantGate?.(tenant);
    request.tenant = tenant;
    reply.header(options.tenantHeader, tenant);
    request.log = request.log.child({ tenant, client: principal.subject });
  }
}

function limitRates(app: HttpApp, rateLimiter: RateLimiter): void {
  const limit = rateLimitHook(rateLimiter, {
    microservice: (req) => microserviceOf(req.url),
    key: (req) => (req as FastifyRequest).tenant ?? req.ip,
  });
  // A route with its own throttle (POST /token backs off per client id and address) opts out: keyed
  // by address alone, a guesser would use up the window of every good client behind the same address.
  app.addHook('onRequest', async (request, reply) =>
    request.routeOptions.config.rateLimit === false ? undefined : limit(request, reply),
  );
}

function enableIdempotency(app: HttpApp, db: Db): void {
  app.decorateRequest('idempotencyKey', undefined);
  const idempotency = idempotencyHooks(db);
  app.addHook('preHandler', idempotency.preHandler);
  app.addHook('onSend', idempotency.onSend);
}

// While draining, answers close their keep-alive connection: an idle keep-alive socket would
// otherwise hold the shutdown open until its keep-alive timeout (72 s in Fastify).
// An answer sent before its request body was read to the end (a body refused over a cap, or as
// malformed part-way) drains the rest instead of closing: Fastify marks a body parser's refusal
// `Connection: close`, and closing while the client is still sending resets the socket, so the client
// sees EPIPE instead of its 413.
function closeWhenDraining(app: HttpApp, state: ReadinessState): void {
  app.addHook('onSend', async (request, reply, payload) => {
    if (state.stopping) reply.header('connection', 'close');
    else if (reply.statusCode >= 400 && drainRefusedBody(request.raw)) reply.removeHeader('connection');
    return payload;
  });
}

/** Each answer is counted, timed and logged once, with its route, status and (through request.log) tenant. */
function observeResponses(app: HttpApp, registry: Registry): void {
  const requests = counter(registry, 'stella_http_requests_total', 'HTTP requests answered', [
    'method',
    'route',
    'status',
  ]);
  const latency = histogram(
    registry,
    'stella_http_request_duration_seconds',
    'HTTP request latency',
    ['method', 'route'],
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    latency.observe({ method: request.method, route }, seconds);
    request.log.info(
      {
        method: request.method,
        url: request.url.split('?')[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });
}

/** Thrown errors and unknown routes answer problem+json; storage faults 503 instead of 500. */
function handleErrors(app: HttpApp, storage: StorageHealth | undefined): void {
  app.setErrorHandler((error, request, reply) => {
    let stella = toStellaError(error);
    if (stella.status >= 500) {
      // A full or read-only store is the operator's to fix, and the request can be retried: 503, not 500.
      const fault = storage ? storage.report(error) : storageFaultOf(error);
      if (fault) stella = storageUnavailableError(fault, error);
    }
    if (stella.status >= 500) request.log.error({ err: stella.cause ?? stella, code: stella.code }, stella.message);
    else request.log.debug({ code: stella.code }, stella.message);
    return sendProblem(reply, request, stella);
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      request,
      new StellaError(Errors.routeNotFound, `no route ${request.method} ${request.url.split('?')[0]}`),
    ),
  );
}

function metricsRoute(app: HttpApp, registry: Registry): void {
  app.get(
    '/metrics',
    {
      // Metrics name tenants and sources; Prometheus scrapes with a bearer token, or metrics.port serves
      // them unauthenticated on a separate (loopback) listener.
      config: { auth: { scopes: ['metrics:read'], tenant: false } },
      schema: { tags: ['platform'], summary: 'Prometheus metrics (text exposition format)' },
    },
    async (_request, reply) => {
      reply.type(registry.contentType);
      return registry.metrics();
    },
  );
}

function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Rate-limit microservice of a path: /api/v1/timeline/… → timeline, /signals/… → signals. */
export function microserviceOf(url: string): string {
  const path = url.split('?')[0] ?? '';
  const parts = path.split('/').filter(Boolean);
  let i = 0;
  if (parts[i] === 'api') i++;
  if (parts[i] && /^v\d+$/.test(parts[i]!)) i++;
  return parts[i] ?? 'root';
}

export type { FastifyReply, FastifyRequest };
