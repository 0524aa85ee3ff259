// SPDX-License-Identifier: Apache-2.0
// What every export route reads from a request besides its schema-typed params, query and body:
// the tenant and caller the auth hook resolved, and the caller's trace id.
import type { FastifyRequest } from 'fastify';

export { tenantOf } from '@stella/platform';

export const actorOf = (request: FastifyRequest): string | null => request.principal?.subject ?? null;

export function traceOf(request: FastifyRequest): string | undefined {
  const value = request.headers['x-stella-trace-id'] ?? request.headers['x-stella-traceid'];
  return typeof value === 'string' ? value.slice(0, 128) : undefined;
}
