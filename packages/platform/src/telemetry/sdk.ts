// The OpenTelemetry SDK as stella runs it: a tracer provider of its own (not the global one, so two
// servers in one process, as in tests, never fight over it), a ratio sampler that follows the
// caller's decision, a batching OTLP/HTTP (JSON) exporter, and the W3C trace-context propagator.
// Loaded by index.ts only when telemetry.tracing.enabled is true.
import { randomUUID } from 'node:crypto';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { type ExportResult, ExportResultCode, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  type ReadableSpan,
  type SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { STELLA_VERSION } from '@stella/core';
import type { FastifyInstance } from 'fastify';
import type { Db } from '../db/port.ts';
import type { Logger } from '../http/logger.ts';
import { traceDb } from './db.ts';
import { traceHttpRequests } from './http.ts';
import type { Tracing, TracingSettings } from './index.ts';

const INSTRUMENTATION_SCOPE = '@stella/platform';
// Shorter than the 5 s shutdown margin (server/serve.ts), so a collector that never answers cannot
// keep a stopping server past it; a healthy collector answers in milliseconds.
const EXPORT_TIMEOUT_MS = 3000;
// The SDK's own default pace: at most one export request every 5 s per process, or sooner when a
// batch of 512 spans is full.
const EXPORT_DELAY_MS = 5000;

let contextManagerInstalled = false;

export function createTracing(settings: TracingSettings, logger: Logger, target: string): Tracing {
  installContextManager(logger);
  const propagator = new W3CTraceContextPropagator();
  const exporter = reportingFailures(
    new OTLPTraceExporter({
      // Unset: the exporter reads OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT itself.
      ...(settings.otlpEndpoint && { url: settings.otlpEndpoint }),
      timeoutMillis: EXPORT_TIMEOUT_MS,
    }),
    logger,
  );
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      'service.name': settings.serviceName,
      'service.version': STELLA_VERSION,
      'service.instance.id': randomUUID(),
      'stella.server.target': target,
    }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.sampleRatio) }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter,
        exportTimeoutMillis: EXPORT_TIMEOUT_MS,
        scheduledDelayMillis: EXPORT_DELAY_MS,
      }),
    ],
  });
  const tracer = provider.getTracer(INSTRUMENTATION_SCOPE, STELLA_VERSION);
  logger.info(
    { endpoint: settings.otlpEndpoint || 'from OTEL_EXPORTER_OTLP_* or default', sampleRatio: settings.sampleRatio },
    'tracing on: exporting OTLP/HTTP traces',
  );
  return {
    instrumentHttp: (app: FastifyInstance) => traceHttpRequests(app, tracer, propagator),
    traceDb: (db: Db) => traceDb(db, tracer),
    queue: { tracerProvider: provider, propagator },
    async shutdown() {
      // Flushes what the batch still holds, then stops the exporter.
      await provider.shutdown();
    },
  };
}

/**
 * The async-context manager every span parent is looked up in. It is process-wide by the OpenTelemetry
 * API's design; installed once, by the first server that turns tracing on (or left as it is when an
 * agent preloaded with --import registered one before).
 */
function installContextManager(logger: Logger): void {
  if (contextManagerInstalled) return;
  contextManagerInstalled = true;
  const installed = context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  if (!installed) logger.info('tracing: keeping the OpenTelemetry context manager already registered');
}

/**
 * The exporter, logging the first failed export of a run of failures and the first success after
 * it: a collector that is down costs one warning, not one per batch, and the spans it missed are
 * dropped rather than kept (tracing never holds memory or requests hostage to a collector).
 */
function reportingFailures(exporter: SpanExporter, logger: Logger): SpanExporter {
  let failing = false;
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void) {
      exporter.export(spans, (result) => {
        if (result.code !== ExportResultCode.SUCCESS && !failing) {
          failing = true;
          logger.warn(
            { err: result.error, spans: spans.length },
            'tracing: the OTLP collector refused or did not answer; spans are dropped until it does',
          );
        } else if (result.code === ExportResultCode.SUCCESS && failing) {
          failing = false;
          logger.info('tracing: the OTLP collector answers again');
        }
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}
