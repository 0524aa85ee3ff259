// SPDX-License-Identifier: Apache-2.0
// What AOC routes read from a request besides its schema-typed params, query and body: the tenant and
// caller the auth hook resolved, and single header values.
import type { FastifyRequest } from 'fastify';

export { headerValue as header, tenantOf } from '@stella/platform';

/** Who wrote through the API, as the timeline records it. */
export const initiatorOf = (request: FastifyRequest): string => `api:${request.principal?.subject ?? 'unknown'}`;

/** Whether the caller's token carries a scope (VEX is shown only to callers who may read it). */
export const hasScope = (request: FastifyRequest, scope: string): boolean =>
  request.principal?.scopes.has(scope) ?? false;
