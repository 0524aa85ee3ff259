// Idempotency-Key on mutating routes (spec §0): the first request with a key runs and its 2xx answer
// is stored; a repeat with the same key and the same request gets that answer again, byte for byte,
// instead of acting twice. Routes opt in with `config: { idempotent: true }`.
import { canonicalDigest, defineError, ExitCode, StellaError } from '@stella/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../db/index.ts';
import { completeKey, releaseKey, reserveKey, restartKey, selectKey } from './sql/idempotency.ts';

export const IdempotencyErrors = {
  reused: defineError({
    code: 'ERR_IDEMPOTENCY_KEY_REUSED',
    status: 422,
    exit: ExitCode.usage,
    title: 'Idempotency-Key already used for a different request',
    hint: 'Use a new Idempotency-Key (a fresh UUID) for each distinct request; reuse one only to retry the same request.',
  }),
  inFlight: defineError({
    code: 'ERR_IDEMPOTENCY_IN_FLIGHT',
    status: 409,
    exit: ExitCode.failure,
    title: 'A request with this Idempotency-Key is still being handled',
    hint: 'Retry after the Retry-After delay; the first request’s answer will then be returned.',
  }),
  malformed: defineError({
    code: 'ERR_IDEMPOTENCY_KEY_INVALID',
    status: 400,
    exit: ExitCode.usage,
    title: 'Malformed Idempotency-Key',
    hint: 'Send 1-128 letters, digits, "-" or "_"; a UUID is recommended.',
  }),
};

const KEY_RE = /^[A-Za-z0-9_-]{1,128}$/;
// A first request that has not finished after this long is presumed dead (its process crashed), so a
// retry may run it again; shorter than a client's patience, longer than any request we serve.
const IN_FLIGHT_SECONDS = 300;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Honour the Idempotency-Key header on this (tenant-scoped, mutating) route. */
    idempotent?: boolean;
  }
  interface FastifyRequest {
    idempotencyKey: string | undefined;
  }
}

export function idempotencyHooks(db: Db) {
  return {
    async preHandler(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
      const key = request.headers['idempotency-key'];
      if (!request.routeOptions.config.idempotent || key === undefined || !request.tenant) return undefined;
      if (typeof key !== 'string' || !KEY_RE.test(key)) {
        throw new StellaError(IdempotencyErrors.malformed, 'Idempotency-Key must be 1-128 of [A-Za-z0-9_-]');
      }
      const tenant = request.tenant;
      const requestHash = canonicalDigest({ method: request.method, url: request.url, body: request.body ?? null });
      const outcome = await db.transaction(
        async (tx) => {
          if (await reserveKey(tx, tenant, key, requestHash)) return { kind: 'run' as const };
          const row = await selectKey(tx, tenant, key, IN_FLIGHT_SECONDS);
          if (!row || row.status === null) {
            if (row?.stale && row.request_hash === requestHash) {
              await restartKey(tx, tenant, key);
              return { kind: 'run' as const };
            }
            if (row && row.request_hash !== requestHash) return { kind: 'reused' as const };
            return { kind: 'inFlight' as const };
          }
          if (row.request_hash !== requestHash) return { kind: 'reused' as const };
          return { kind: 'replay' as const, row };
        },
        { tenant },
      );
      switch (outcome.kind) {
        case 'run':
          request.idempotencyKey = key;
          return undefined;
        case 'reused':
          throw new StellaError(IdempotencyErrors.reused, `Idempotency-Key ${key} was used for a different request`);
        case 'inFlight':
          throw new StellaError(IdempotencyErrors.inFlight, `a request with Idempotency-Key ${key} is still running`, {
            headers: { 'retry-after': '1' },
          });
        case 'replay': {
          const { row } = outcome;
          reply.code(row.status!).header('idempotency-replayed', 'true');
          if (row.content_type) reply.header('content-type', row.content_type);
          if (row.location) reply.header('location', row.location);
          return reply.send(row.response);
        }
      }
    },

    async onSend(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
      const key = request.idempotencyKey;
      if (!key || !request.tenant) return payload;
      request.idempotencyKey = undefined;
      const tenant = request.tenant;
      const succeeded = reply.statusCode >= 200 && reply.statusCode < 300 && typeof payload === 'string';
      await db.transaction(
        (tx) =>
          succeeded
            ? completeKey(tx, tenant, key, {
                status: reply.statusCode,
                response: payload as string,
                contentType: headerText(reply.getHeader('content-type')),
                location: headerText(reply.getHeader('location')),
              })
            : // A failed attempt is not an answer worth repeating: free the key for a retry.
              releaseKey(tx, tenant, key),
        { tenant },
      );
      return payload;
    },
  };
}

function headerText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return Array.isArray(value) ? String(value[0]) : String(value);
}
