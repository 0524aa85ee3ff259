// Unknowns routes: symbols a producer could not resolve, reported for a subject, and the list of a
// subject's unknowns (reported and found by the engine).
import type { HttpApp } from '@stella/platform';
import Type from 'typebox';
import type { Signals } from '../service.ts';
import { tenantOf } from './request.ts';
import { Json, SubjectParams, tags } from './schemas.ts';

const UnknownsBody = Type.Object({
  subject: Type.Optional(Json),
  subjectKey: Type.Optional(Type.String({ minLength: 1 })),
  callgraphId: Type.Optional(Type.String()),
  unknowns: Type.Array(
    Type.Object({
      symbolId: Type.String({ minLength: 1, maxLength: 4096 }),
      reason: Type.String({ minLength: 1, maxLength: 200 }),
    }),
    { minItems: 1, maxItems: 100_000 },
  ),
});

const UnknownsList = Type.Object({
  subjectKey: Type.String(),
  unknowns: Type.Array(
    Type.Object({
      symbolId: Type.String(),
      reason: Type.String(),
      origin: Type.String(),
      callgraphId: Type.Union([Type.String(), Type.Null()]),
      advisoryId: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
});

export function registerUnknownsRoutes(app: HttpApp, signals: Signals): void {
  app.post(
    '/signals/unknowns',
    {
      config: { auth: { scopes: ['signals:write'] } },
      schema: {
        tags,
        summary: 'Report unknowns for a subject (symbols a producer could not resolve)',
        body: UnknownsBody,
        response: { 202: Type.Object({ subjectKey: Type.String(), stored: Type.Integer() }) },
      },
    },
    async (request, reply) => reply.code(202).send(await signals.reportUnknowns(tenantOf(request), request.body)),
  );

  app.get(
    '/signals/unknowns/:subjectKey',
    {
      config: { auth: { scopes: ['signals:read'] } },
      schema: {
        tags,
        summary:
          'Unknowns of a subject: engine reasons (no_symbol_data, symbol_not_in_graph, graph_missing, dynamic_edge_only) and reported ones',
        params: SubjectParams,
        response: { 200: UnknownsList },
      },
    },
    async (request) => {
      const { subjectKey } = request.params;
      return { subjectKey, unknowns: await signals.listUnknowns(tenantOf(request), subjectKey) };
    },
  );
}
