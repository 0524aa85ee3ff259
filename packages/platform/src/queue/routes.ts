// Dead-letter operations of the orchestrator (spec §5): list what exhausted its retries and redrive
// it. A tenant sees and redrives only its own jobs; a redrive needs an operator reason, which the
// timeline records.
import { Errors, StellaError } from '@stella/core';
import Type from 'typebox';
import type { HttpApp } from '../http/app.ts';
import type { Timeline } from '../timeline/index.ts';
import type { DeadLetter, JobQueue } from './queue.ts';

const DeadLetterView = Type.Object({
  id: Type.String(),
  queue: Type.String(),
  error: Type.Union([Type.String(), Type.Null()]),
  failedAt: Type.Union([Type.String(), Type.Null()]),
  retryCount: Type.Integer(),
});

// Enough to cover any realistic dead-letter backlog in one look; the spec's health check fails at 50.
const SCAN_LIMIT = 10_000;

export function registerDeadLetterRoutes(app: HttpApp, deps: { queue: JobQueue; timeline: Timeline }): void {
  const ownedBy = (tenant: string, d: DeadLetter) => (d.data as { tenant?: unknown } | null)?.tenant === tenant;

  app.get(
    '/orchestrator/deadletter',
    {
      config: { auth: { scopes: ['orch:read'] } },
      schema: {
        tags: ['orchestrator'],
        summary: "List the tenant's dead-lettered jobs",
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          queue: Type.Optional(Type.String({ maxLength: 128 })),
        }),
        response: { 200: Type.Object({ items: Type.Array(DeadLetterView) }) },
      },
    },
    async (request) => {
      const all = await deps.queue.deadLetters({ queue: request.query.queue, limit: SCAN_LIMIT });
      const items = all
        .filter((d) => ownedBy(request.tenant!, d))
        .slice(0, request.query.limit ?? 50)
        .map(view);
      return { items };
    },
  );

  app.post(
    '/orchestrator/deadletter/retry',
    {
      config: { auth: { scopes: ['orch:operate'] } },
      schema: {
        tags: ['orchestrator'],
        summary: 'Re-queue dead-lettered jobs with a fresh retry budget (X-Stella-Operator-Reason required)',
        headers: Type.Object({
          'x-stella-operator-reason': Type.Optional(Type.String({ maxLength: 1000 })),
          'x-stella-operator-ticket': Type.Optional(Type.String({ maxLength: 200 })),
        }),
        body: Type.Object(
          {
            queue: Type.Optional(Type.String({ maxLength: 128 })),
            ids: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 1000 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ retried: Type.Integer() }) },
      },
    },
    async (request) => {
      const reason = request.headers['x-stella-operator-reason'];
      if (!reason?.trim()) {
        throw new StellaError(Errors.validation, 'X-Stella-Operator-Reason is required for a dead-letter retry');
      }
      const wanted = request.body.ids ? new Set(request.body.ids) : undefined;
      const candidates = (await deps.queue.deadLetters({ queue: request.body.queue, limit: SCAN_LIMIT })).filter(
        (d) => ownedBy(request.tenant!, d) && (!wanted || wanted.has(d.id)),
      );
      const retried = candidates.length ? await deps.queue.retryDeadLetters({ ids: candidates.map((d) => d.id) }) : 0;
      await deps.timeline.record(request.tenant!, {
        category: 'orchestrator',
        kind: 'orchestrator.deadletter.retried',
        details: {
          retried,
          ids: candidates.map((d) => d.id),
          reason,
          ticket: request.headers['x-stella-operator-ticket'] ?? null,
          operator: request.principal?.subject ?? null,
        },
      });
      return { retried };
    },
  );
}

function view(d: DeadLetter) {
  return {
    id: d.id,
    queue: d.queue,
    error: d.error ?? null,
    failedAt: d.failedAt ? new Date(d.failedAt).toISOString() : null,
    retryCount: d.retryCount,
  };
}
