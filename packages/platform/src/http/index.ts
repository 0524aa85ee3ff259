export type { FastifyReply, FastifyRequest, HttpApp, HttpAppOptions, Readiness, RouteAuth } from './app.ts';
export { createHttpApp, microserviceOf } from './app.ts';
export { decodeCursor, encodeCursor } from './cursor.ts';
export { IdempotencyErrors } from './idempotency.ts';
export type { InputLimits } from './input.ts';
export {
  checkRequestText,
  cursorLengthFor,
  DEFAULT_INPUT_LIMITS,
  jsonLimitsOf,
  parseJsonBody,
} from './input.ts';
export type { Logger } from './logger.ts';
export { createLogger, REDACT_PATHS } from './logger.ts';
export type { ProblemDocument } from './problem.ts';
export { callerTraceId, PROBLEM_CONTENT_TYPE, problemFor, sendProblem, toStellaError } from './problem.ts';
export { headerValue, tenantOf } from './request.ts';
export type {
  StorageFault,
  StorageFaultKind,
  StorageHealth,
  StorageHealthOptions,
  StorageName,
} from './storage-health.ts';
export {
  createStorageHealth,
  guardBlobStore,
  guardDb,
  storageFaultOf,
  storageUnavailableError,
} from './storage-health.ts';
export type { TlsSettings } from './tls.ts';
export { tlsServerOptions } from './tls.ts';
