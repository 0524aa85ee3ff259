// The W3C trace id of each traced request, for the answers that name it (problem+json `traceId`).
// Kept apart from the SDK so the HTTP layer can ask without loading OpenTelemetry: with tracing off
// nothing is ever recorded here and the lookup misses.

const traceIds = new WeakMap<object, string>();

/** Called by the request span hook once the request's span exists. */
export function recordRequestTrace(request: object, traceId: string): void {
  traceIds.set(request, traceId);
}

/** The 32-hex trace id of the request's span, or undefined when the request is not traced. */
export function requestTraceId(request: object): string | undefined {
  return traceIds.get(request);
}
