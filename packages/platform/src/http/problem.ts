// RFC 7807 problem documents for every error the HTTP layer returns, each with a registered `code`.
import { type ErrorDefinition, Errors, lookupError, StellaError, systemClock } from '@stella/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { requestTraceId } from '../telemetry/request-trace.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  /** Same text as detail; the Export API's error body calls it `message`. */
  message: string;
  instance: string;
  requestId: string;
  traceId: string;
  timestamp: string;
  [extra: string]: unknown;
}

/** Maps anything thrown inside a request to a registered error, keeping the cause for the log. */
export function toStellaError(error: unknown): StellaError {
  if (error instanceof StellaError) return error;
  const fe = error as FastifyError & { validation?: unknown[]; validationContext?: string };
  if (fe?.validation) {
    return new StellaError(Errors.validation, `${fe.validationContext ?? 'request'}: ${fe.message}`, {
      cause: error,
      details: { errors: fe.validation },
    });
  }
  const mapped = fe?.code ? FRAMEWORK_CODES[fe.code] : undefined;
  if (mapped) return new StellaError(mapped, fe.message, { cause: error });
  if (fe instanceof SyntaxError || (fe?.statusCode === 400 && /JSON/i.test(fe.message))) {
    return new StellaError(Errors.malformedBody, `malformed JSON body: ${fe.message}`, { cause: error });
  }
  if (fe?.statusCode === 413) return new StellaError(Errors.bodyTooLarge, fe.message, { cause: error });
  if (fe?.statusCode === 415) return new StellaError(Errors.unsupportedMediaType, fe.message, { cause: error });
  // Any other client error Fastify raises itself still gets a registered code, never a 500.
  const byStatus = fe?.code?.startsWith('FST_ERR_') && fe.statusCode ? FRAMEWORK_STATUSES[fe.statusCode] : undefined;
  if (byStatus) return new StellaError(byStatus, fe.message, { cause: error });
  return new StellaError(Errors.internal, 'internal error', { cause: error });
}

/** Fastify's request-time error codes (fastify/lib/errors.js) and the registered code each answers with. */
const FRAMEWORK_CODES: Record<string, ErrorDefinition> = {
  FST_ERR_CTP_BODY_TOO_LARGE: Errors.bodyTooLarge,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: Errors.unsupportedMediaType,
  FST_ERR_CTP_INVALID_TYPE: Errors.unsupportedMediaType,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: Errors.malformedBody,
  FST_ERR_CTP_EMPTY_JSON_BODY: Errors.malformedBody,
  FST_ERR_CTP_INVALID_JSON_BODY: Errors.malformedBody,
  FST_ERR_NOT_FOUND: Errors.routeNotFound,
  FST_ERR_BAD_URL: Errors.badRequest,
  FST_ERR_MAX_PARAM_LENGTH: Errors.identifierTooLong,
};

const FRAMEWORK_STATUSES: Record<number, ErrorDefinition> = {
  400: Errors.badRequest,
  404: Errors.routeNotFound,
  408: Errors.requestTimeout,
  413: Errors.bodyTooLarge,
  414: Errors.identifierTooLong,
  415: Errors.unsupportedMediaType,
  431: Errors.headersTooLarge,
};

export function problemFor(error: StellaError, request: FastifyRequest): ProblemDocument {
  const detail = error.message;
  return {
    ...(error.details ?? {}),
    type: `https://stella.local/errors/${error.code}`,
    title: titleOf(error),
    status: error.status,
    code: error.code,
    detail,
    message: detail,
    instance: request.url.split('?')[0] ?? request.url,
    requestId: String(request.id),
    traceId: traceIdOf(request),
    timestamp: systemClock.now().toISOString(),
  };
}

function titleOf(error: StellaError): string {
  return lookupError(error.code)?.title ?? error.code;
}

/**
 * The caller's trace of a request, for the rows and events it writes: the W3C trace id of the request's
 * span when tracing is on, else a well-formed X-Stella-TraceId (or X-Stella-Trace-Id) header.
 */
export function callerTraceId(request: FastifyRequest): string | undefined {
  const traced = requestTraceId(request);
  if (traced) return traced;
  const header = request.headers['x-stella-traceid'] ?? request.headers['x-stella-trace-id'];
  const value = Array.isArray(header) ? header[0] : header;
  return value && /^[\w.:-]{1,128}$/.test(value) ? value : undefined;
}

/** The trace id problem+json names: the caller's trace, else the request id. */
export function traceIdOf(request: FastifyRequest): string {
  return callerTraceId(request) ?? String(request.id);
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, error: StellaError): FastifyReply {
  if (error.headers) reply.headers(error.headers);
  return reply.code(error.status).type(PROBLEM_CONTENT_TYPE).send(problemFor(error, request));
}
