// What any room's route reads from a request besides its schema-typed params, query and body.
import { Errors, StellaError } from '@stella/core';
import type { FastifyRequest } from 'fastify';

/**
 * The tenant the auth hook resolved. Every route that declares `config.auth` (tenant-scoped) has one;
 * asking on a route without it is a programming error, answered 500 rather than acting for no tenant.
 */
export function tenantOf(request: FastifyRequest): string {
  if (!request.tenant) throw new StellaError(Errors.internal, `route ${request.routeOptions.url} has no tenant`);
  return request.tenant;
}

/** One header's value; the first when it was sent more than once. */
export function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
