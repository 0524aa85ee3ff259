// SPDX-License-Identifier: Apache-2.0
// What AOC routes read from a request besides its schema-typed params, query and body: the tenant and
// caller the auth hook resolved, and single header values.
import type { FastifyRequest } from 'fastify';

/** Set by the platform's auth hook on every route that declares `config.auth`, as all AOC routes do. */
export const tenantOf = (request: FastifyRequest): string => request.tenant!;

/** Who wrote through the API, as the timeline records it. */
export const initiatorOf = (request: FastifyRequest): string => `api:${request.principal?.subject ?? 'unknown'}`;

/** Whether the caller's token carries a scope (VEX is shown only to callers who may read it). */
export const hasScope = (request: FastifyRequest, scope: string): boolean =>
  request.principal?.scopes.has(scope) ?? false;

/** One header's value; the first when it was sent more than once. */
export function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
