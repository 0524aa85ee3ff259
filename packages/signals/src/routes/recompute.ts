// POST /signals/reachability/recompute: in the request (wait=true) or queued.
import type { HttpApp } from '@stella/platform';
import Type from 'typebox';
import { MAX_TARGET_TEXT } from '../engine/targets.ts';
import type { Signals } from '../service.ts';
import { tenantOf } from './request.ts';
import { tags } from './schemas.ts';

const TargetText = { minLength: 1, maxLength: MAX_TARGET_TEXT };

const RecomputeBody = Type.Object({
  subjectKey: Type.Optional(Type.String({ minLength: 1 })),
  targets: Type.Optional(
    Type.Array(
      Type.Union([
        Type.String(TargetText),
        Type.Object(
          {
            symbolId: Type.Optional(Type.String(TargetText)),
            advisoryId: Type.Optional(Type.String({ maxLength: MAX_TARGET_TEXT })),
            package: Type.Optional(Type.String({ maxLength: MAX_TARGET_TEXT })),
          },
          { additionalProperties: false },
        ),
      ]),
    ),
  ),
  force: Type.Optional(Type.Boolean()),
  wait: Type.Optional(Type.Boolean()),
});

const RecomputeReport = Type.Object({
  subjects: Type.Array(
    Type.Object({
      subjectKey: Type.String(),
      status: Type.String(),
      factVersion: Type.Optional(Type.Integer()),
      digest: Type.Optional(Type.String()),
    }),
  ),
  durationMs: Type.Integer(),
});

export function registerRecomputeRoutes(app: HttpApp, signals: Signals): void {
  app.post(
    '/signals/reachability/recompute',
    {
      config: { auth: { scopes: ['signals:admin'] } },
      schema: {
        tags,
        summary: 'Recompute reachability facts (only subjects whose graph, runtime facts or targets changed)',
        description:
          'Without subjectKey every changed subject of the tenant is recomputed. targets (symbol ids or {symbolId, advisoryId, package}) replace the default targets from advisories; an empty array restores them. wait=true runs it in the request; otherwise a job is queued (202). A fact is stored only from the current inputs of its subject: per subject the answer is updated, unchanged, or superseded (its inputs changed on every try; the recompute queued by that change writes the fact). With wait=true the fact reported is what GET /signals/facts returns next, unless another input arrived meanwhile.',
        body: RecomputeBody,
        response: {
          200: RecomputeReport,
          202: Type.Object({ queued: Type.Boolean(), jobId: Type.Union([Type.String(), Type.Null()]) }),
        },
      },
    },
    async (request, reply) => {
      const { wait, subjectKey, targets, force } = request.body;
      if (wait) {
        const options = {
          ...(subjectKey ? { subjectKey } : {}),
          ...(targets ? { targets } : {}),
          ...(force ? { force } : {}),
        };
        return reply.code(200).send(await signals.recompute(tenantOf(request), options));
      }
      const jobId = await signals.queueRecomputeJob(tenantOf(request), request.body);
      return reply.code(202).send({ queued: true, jobId });
    },
  );
}
