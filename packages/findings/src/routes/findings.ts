// SPDX-License-Identifier: Apache-2.0
// Stored findings: GET /findings (filtered, id-ordered pages), GET /findings/{id} (the finding with
// its evidence and decision), and POST /findings/recompute (queue a recompute of one subject or all).
import { type HttpApp, tenantOf } from '@stella/platform';
import Type, { type Static } from 'typebox';
import type { FindingStore } from '../store/service.ts';
import { Page } from './schemas.ts';

const tags = ['findings'];
const readScope = { auth: { scopes: ['findings:read'] } };
const writeScope = { auth: { scopes: ['findings:write'] } };

const Severity = Type.Union(
  ['critical', 'high', 'medium', 'low', 'none', 'unknown'].map((s) => Type.Literal(s)),
  { description: 'The highest severity any source reports (as the policy reads it)' },
);
const Reachability = Type.Union([Type.Literal('reachable'), Type.Literal('unreachable'), Type.Literal('unknown')]);
const Verdict = Type.Union([Type.Literal('pass'), Type.Literal('warn'), Type.Literal('fail')]);

const FindingsQuery = Type.Object({
  subject: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'A subject key' })),
  severity: Type.Optional(Severity),
  reachability: Type.Optional(Reachability),
  verdict: Type.Optional(Verdict),
  vulnerability: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'A vulnerability id' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 128, description: 'nextCursor of the previous page' })),
});
type FindingsQuery = Static<typeof FindingsQuery>;

const StoredFinding = Type.Object({
  id: Type.String({ description: 'finding:<sha256 of subject, purl and vulnerability>' }),
  subjectKey: Type.String(),
  sbomId: Type.String({ description: "The subject's latest SBOM, which the finding was matched in" }),
  purl: Type.String(),
  vulnerabilityId: Type.String(),
  severity: Severity,
  reachability: Reachability,
  vexStatus: Type.String({ description: 'The effective VEX status under the policy: a status, none or conflict' }),
  verdict: Type.Union([Verdict, Type.Null()], { description: 'Null when the tenant has no active policy' }),
  rule: Type.Union([Type.String(), Type.Null()]),
  snapshotId: Type.Union([Type.String(), Type.Null()]),
  evaluatedAt: Type.String({ format: 'date-time' }),
});

const FindingParams = Type.Object({ id: Type.String({ maxLength: 128 }) });

const RecomputeBody = Type.Object(
  {
    subject: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'Only this subject key' })),
    wait: Type.Optional(Type.Boolean({ description: 'Run it in the request and answer 200 with the results' })),
  },
  { additionalProperties: false },
);
const RecomputeResult = Type.Object({
  subjectKey: Type.String(),
  sbomId: Type.Union([Type.String(), Type.Null()]),
  snapshotId: Type.Union([Type.String(), Type.Null()]),
  findings: Type.Integer(),
  written: Type.Integer({ description: 'Finding rows written or removed (unchanged findings are left as they are)' }),
  changes: Type.Integer({ description: 'policy.verdict and finding.resolved events appended' }),
});
type RecomputeBody = Static<typeof RecomputeBody>;

/** Queues a recompute; the job id, or null when one for the same subject is already waiting. */
export type QueueRecompute = (tenant: string, subjectKey: string | undefined) => Promise<string | null>;

export function registerFindingRoutes(app: HttpApp, store: FindingStore, queueRecompute: QueueRecompute): void {
  app.get<{ Querystring: FindingsQuery }>(
    '/findings',
    {
      config: readScope,
      schema: {
        tags,
        summary: 'Stored findings, filtered by subject, severity, reachability, verdict or vulnerability, in id order',
        querystring: FindingsQuery,
        response: { 200: Page(StoredFinding) },
      },
    },
    async (request) => {
      const { subject, ...rest } = request.query;
      return store.listFindings(tenantOf(request), { ...rest, subjectKey: subject });
    },
  );

  app.get<{ Params: Static<typeof FindingParams> }>(
    '/findings/:id',
    {
      config: readScope,
      schema: {
        tags,
        summary: 'One finding with its evidence: sources (raw ids and hashes), VEX statements, reachability, decision',
        params: FindingParams,
      },
    },
    async (request) => store.getFinding(tenantOf(request), request.params.id),
  );

  app.post<{ Body: RecomputeBody }>(
    '/findings/recompute',
    {
      config: writeScope,
      schema: {
        tags,
        summary: "Queue a recompute of the tenant's stored findings (all subjects, or one)",
        description:
          "Recomputes also run by themselves when an SBOM is stored, advisories or VEX are ingested, a reachability fact changes or a policy snapshot is activated. 202 with the job id (null when a recompute of the same scope is already queued); with wait=true 200 and what each subject's recompute did.",
        body: RecomputeBody,
        response: {
          200: Type.Object({ results: Type.Array(RecomputeResult) }),
          202: Type.Object({ jobId: Type.Union([Type.String(), Type.Null()]) }),
        },
      },
    },
    async (request, reply) => {
      const tenant = tenantOf(request);
      const subject = request.body?.subject?.trim().toLowerCase();
      if (request.body?.wait) {
        const results = subject ? [await store.recomputeSubject(tenant, subject)] : await store.recomputeTenant(tenant);
        return reply.code(200).send({ results });
      }
      return reply.code(202).send({ jobId: await queueRecompute(tenant, subject) });
    },
  );
}
