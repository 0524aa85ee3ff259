// One SERVER span per HTTP request, continuing the caller's W3C trace (`traceparent`) when there is
// one. The span is the active context for everything the request does (hooks, handler, SQL, the jobs
// it enqueues), so they land in the same trace; its trace id is what problem+json answers name.
//
// Three hooks rather than @fastify/otel (the stack's pick): that plugin pins @opentelemetry/core 2.x,
// whose peer range (@opentelemetry/api <1.10) conflicts with the 1.10 pg-boss and the 3.x SDK need,
// and it pulls the module-patching instrumentation base (require/import-in-the-middle) only to wrap
// every hook in a span of its own.
import {
  type Context,
  context,
  defaultTextMapGetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapPropagator,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { recordRequestTrace } from './request-trace.ts';

interface RequestSpan {
  span: Span;
  context: Context;
}

/** Registers the request span hooks. Call before any other hook or route, so all of them run inside it. */
export function traceHttpRequests(app: FastifyInstance, tracer: Tracer, propagator: TextMapPropagator): void {
  const spans = new WeakMap<FastifyRequest, RequestSpan>();

  app.addHook('onRequest', (request, _reply, done) => {
    const parent = propagator.extract(ROOT_CONTEXT, request.headers, defaultTextMapGetter);
    const route = request.routeOptions.url;
    const span = tracer.startSpan(
      route ? `${request.method} ${route}` : request.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          // The path only: a query string may carry a cursor or a token.
          'url.path': request.url.split('?')[0] ?? request.url,
          ...(route && { 'http.route': route }),
          'stella.request_id': String(request.id),
        },
      },
      parent,
    );
    const active = trace.setSpan(parent, span);
    spans.set(request, { span, context: active });
    const { traceId } = span.spanContext();
    recordRequestTrace(request, traceId);
    // Log lines of the request carry the trace id, so a trace leads to its logs and back.
    request.log = request.log.child({ traceId });
    context.with(active, done);
  });

  // Body parsing runs in the socket's callbacks, outside the context entered above: enter it again.
  app.addHook('preValidation', (request, _reply, done) => {
    const entry = spans.get(request);
    if (entry) context.with(entry.context, done);
    else done();
  });

  // The registered code of a failed request (ERR_…), not its message: messages may echo input.
  app.addHook('onError', async (request, _reply, error) => {
    const entry = spans.get(request);
    const code = (error as { code?: unknown }).code;
    entry?.span.setAttribute('error.type', typeof code === 'string' ? code : error.name);
  });

  app.addHook('onResponse', async (request, reply) => {
    const entry = spans.get(request);
    if (!entry) return;
    spans.delete(request);
    const { span } = entry;
    span.setAttribute('http.response.status_code', reply.statusCode);
    if (request.tenant !== undefined) span.setAttribute('stella.tenant', request.tenant);
    if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });

  // A client that went away gets no onResponse; its span still ends, marked as such.
  app.addHook('onRequestAbort', async (request) => {
    const entry = spans.get(request);
    if (!entry) return;
    spans.delete(request);
    entry.span.setAttribute('error.type', 'request_aborted');
    entry.span.setStatus({ code: SpanStatusCode.ERROR, message: 'client closed the connection' });
    entry.span.end();
  });
}
