// Fact routes: the tenant's subjects with a fact (paged), a subject's reachability fact (ETag = its
// digest) and the same fact as VEX. The last two answer 202 with Retry-After while the subject's fact
// is pending, and wait for it with ?wait=.
import type { HttpApp } from '@stella/platform';
import type { FastifyReply } from 'fastify';
import Type from 'typebox';
import { type FactAnswer, factAsVex, factBody } from '../facts/read.ts';
import type { Signals } from '../service.ts';
import { tenantOf } from './request.ts';
import { Json, PendingFactResponse, SubjectParams, tags, Wait } from './schemas.ts';

const read = { auth: { scopes: ['signals:read'] } };

const FactsListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'nextCursor of the previous page' })),
});

const FactSummary = Type.Object({
  subjectKey: Type.String(),
  subject: Type.Union([Type.Record(Type.String(), Type.String()), Type.Null()], {
    description: 'The subject the key was made from (scanId, imageDigest, component, version…)',
  }),
  factVersion: Type.Integer(),
  digest: Type.String(),
  score: Type.Number(),
  targets: Type.Integer({ description: 'Targets the fact has a state for' }),
  reachableTargets: Type.Integer({ description: 'Of those, the ones found reachable' }),
  unknownsCount: Type.Integer(),
  computedAt: Type.String({ format: 'date-time' }),
});

const FactsPage = Type.Object({
  items: Type.Array(FactSummary),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

/**
 * Reads the fact for a route: the answer, or undefined with the reply already sent as 202 for a
 * pending subject. Waiting requests answer at once (202) when the server shuts down, and stop waiting
 * when their client hangs up.
 */
function factAnswers(app: HttpApp, signals: Signals) {
  const waiting = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const controller of waiting) controller.abort();
  });
  return async (tenant: string, subjectKey: string, waitSeconds: number, reply: FastifyReply) => {
    const controller = new AbortController();
    const gone = () => controller.abort();
    reply.raw.once('close', gone);
    waiting.add(controller);
    let answer: FactAnswer;
    try {
      answer = await signals.readFact(tenant, subjectKey, { waitSeconds, signal: controller.signal });
    } finally {
      waiting.delete(controller);
      reply.raw.off('close', gone);
    }
    if (answer.status === 'ready') return answer;
    reply.header('retry-after', String(answer.retryAfterSeconds));
    reply.code(202).send(answer);
    return undefined;
  };
}

export function registerFactRoutes(app: HttpApp, signals: Signals): void {
  const answerFact = factAnswers(app, signals);
  app.get(
    '/signals/facts',
    {
      config: read,
      schema: {
        tags,
        summary: "The tenant's subjects with a reachability fact, in subject-key order, with cursor paging",
        description:
          'Each subject with its fact version, digest, score, target and unknown counts and computedAt. Subjects whose first fact is still pending are not listed until it is stored.',
        querystring: FactsListQuery,
        response: { 200: FactsPage },
      },
    },
    async (request) => {
      const { limit = 100, cursor } = request.query;
      return signals.listFacts(tenantOf(request), { limit, cursor });
    },
  );

  app.get(
    '/signals/facts/:subjectKey',
    {
      config: read,
      schema: {
        tags,
        summary: 'The reachability fact of a subject: per-target states, score, unknowns, provenance, fact_version',
        description:
          'ETag is the fact digest; If-None-Match with it answers 304. 202 with Retry-After while runtime facts or a graph accepted for the subject have no fact yet (the recompute is queued or running); ?wait=N waits up to N seconds for it. 404 only for a subject nothing was ever accepted for.',
        params: SubjectParams,
        querystring: Type.Object({ wait: Wait }),
        response: {
          200: Json,
          202: PendingFactResponse,
          304: Type.Null({ description: 'Not modified: the fact still has this digest.' }),
        },
      },
    },
    async (request, reply) => {
      const answer = await answerFact(tenantOf(request), request.params.subjectKey, request.query.wait ?? 0, reply);
      if (!answer) return reply;
      const etag = `"${answer.fact.digest}"`;
      reply.header('etag', etag);
      // The digest names the fact's content, so a client holding it can skip the body (spec §0 ETags).
      if (request.headers['if-none-match'] === etag) return reply.code(304).send(null);
      return factBody(answer.fact);
    },
  );

  app.get(
    '/signals/facts/:subjectKey/vex',
    {
      config: read,
      schema: {
        tags,
        summary: 'The fact as VEX: OpenVEX 0.2.0 or CycloneDX 1.6 (witness path as evidence.callstack)',
        description: 'Pending subjects and ?wait= as for GET /signals/facts/{subjectKey}.',
        params: SubjectParams,
        querystring: Type.Object({
          format: Type.Optional(
            Type.Union([Type.Literal('openvex'), Type.Literal('cyclonedx')], { default: 'openvex' }),
          ),
          wait: Wait,
        }),
        response: { 200: Json, 202: PendingFactResponse },
      },
    },
    async (request, reply) => {
      const answer = await answerFact(tenantOf(request), request.params.subjectKey, request.query.wait ?? 0, reply);
      if (!answer) return reply;
      const format = request.query.format ?? 'openvex';
      reply.type(format === 'cyclonedx' ? 'application/vnd.cyclonedx+json' : 'application/json');
      return factAsVex(answer.fact, format);
    },
  );
}
