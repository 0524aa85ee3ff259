// Tracing: OpenTelemetry spans across HTTP → SQL → queue, exported over OTLP/HTTP, off by default.
// With telemetry.tracing.enabled false nothing of the SDK is imported, no hook or wrapper is
// installed, and pg-boss stores no trace context: the hot path is exactly what it is without tracing.
//
// Dependencies, against the stack table: @opentelemetry/sdk-trace and exporter-trace-otlp-http rather
// than sdk-node, which also brings the gRPC, protobuf, Zipkin and Prometheus exporters and the logs
// and metrics SDKs; no instrumentation-pg, because the Db port wrapper (db.ts) covers PGlite and
// PostgreSQL alike; no @fastify/otel (http.ts says why).
import type { TextMapPropagator, TracerProvider } from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';
import type { PlatformConfig } from '../config/schema.ts';
import type { Db } from '../db/port.ts';
import type { Logger } from '../http/logger.ts';

export type TracingSettings = PlatformConfig['telemetry']['tracing'];

/** A running tracer: what the server threads through the HTTP factory, the Db and the queue. */
export interface Tracing {
  /** Registers the request span hooks; createHttpApp calls it before any other hook or route. */
  instrumentHttp(app: FastifyInstance): void;
  /** The Db with a span per statement and transaction, for work inside a trace. */
  traceDb(db: Db): Db;
  /** For the job queue: spans for send and process, with the sender's trace context stored on each job. */
  queue: { tracerProvider: TracerProvider; propagator: TextMapPropagator };
  /** Exports the spans still buffered and stops; call last, after the queue and the HTTP server stopped. */
  shutdown(): Promise<void>;
}

/** Starts tracing when the settings turn it on; undefined (and nothing loaded) otherwise. */
export async function startTracing(
  settings: TracingSettings,
  options: { logger: Logger; target: string },
): Promise<Tracing | undefined> {
  if (!settings.enabled) return undefined;
  const { createTracing } = await import('./sdk.ts');
  return createTracing(settings, options.logger, options.target);
}

export { requestTraceId } from './request-trace.ts';
export { operationOf, STATEMENT_CHARS, statementForSpan } from './statement.ts';
