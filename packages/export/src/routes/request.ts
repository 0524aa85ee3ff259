// SPDX-License-Identifier: Apache-2.0
// What every export route reads from a request besides its schema-typed params, query and body:
// the tenant and caller the auth hook resolved, and the caller's trace id.
import type { FastifyRequest } from 'fastify';

export { callerTraceId as traceOf, tenantOf } from '@stella/platform';

export const actorOf = (request: FastifyRequest): string | null => request.principal?.subject ?? null;
