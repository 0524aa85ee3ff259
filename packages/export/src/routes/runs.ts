// SPDX-License-Identifier: Apache-2.0
// Run routes: submit (202 with quota headers), list (keyset-paged), show, cancel and replay.
import type { HttpApp } from '@stella/platform';
import Type from 'typebox';
import { type ExportService, quotaHeaders, type RunQuery } from '../service/index.ts';
import { read, runParams, runScope, tags } from './options.ts';
import { actorOf, tenantOf, traceOf } from './request.ts';

const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'expired'] as const;
/** The runbook's word for a run no worker has taken yet ("Run stuck in `pending`"): stella calls it queued. */
const STATUS_ALIASES: Readonly<Record<string, (typeof STATUSES)[number]>> = { pending: 'queued' };

const RunSubmit = Type.Object(
  {
    profileId: Type.String({ minLength: 1, maxLength: 64 }),
    selectors: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: 'since, until (RFC 3339 or a duration like 7d), sources, ecosystems, purls, tenant',
      }),
    ),
    allowEmpty: Type.Optional(Type.Boolean({ default: false })),
    priority: Type.Optional(Type.Enum(['normal', 'catch-up'])),
    baseExportId: Type.Optional(
      Type.String({
        pattern: '^exp-[0-9a-f]{24}$',
        description:
          'mirror:delta only: the export to build against (a succeeded mirror export of this tenant); the newest one when omitted; 409 ERR_EXPORT_BASE_MISSING when there is none',
      }),
    ),
    policySnapshotId: Type.Optional(
      Type.String({
        maxLength: 128,
        description:
          "a policy snapshot id of this tenant (sha256:…); policySnapshotMode required needs one, none refuses one; json:policy without one uses the tenant's active snapshot",
      }),
    ),
  },
  { additionalProperties: false },
);

/** A queued run; policySnapshotId is the one stored on it (given, or the tenant's active one for json:policy). */
const Submitted = Type.Object({
  runId: Type.String(),
  status: Type.String(),
  profileRevision: Type.String(),
  policySnapshotId: Type.Union([Type.String(), Type.Null()]),
  baseExportId: Type.Union([Type.String(), Type.Null()]),
});

function registerRunSubmissions(app: HttpApp, service: ExportService): void {
  app.post(
    '/api/export/runs',
    {
      config: { ...runScope, idempotent: true },
      schema: {
        tags,
        summary:
          'Submit an export run (202) with the policy snapshot it is evaluated under; 429 ERR_EXPORT_QUOTA over the tenant quota, 404 ERR_POLICY_NOT_FOUND for an unknown snapshot',
        body: RunSubmit,
        response: { 202: Submitted },
      },
    },
    async (request, reply) => {
      const { run, quota } = await service.submit(tenantOf(request), request.body, actorOf(request), traceOf(request));
      reply.headers(quotaHeaders(quota));
      reply.header('location', `/api/export/runs/${run.runId}`);
      return reply.code(202).send({
        runId: run.runId,
        status: run.status,
        profileRevision: run.profileRevision,
        policySnapshotId: run.policySnapshotId,
        baseExportId: run.baseExportId,
      });
    },
  );

  app.get(
    '/api/export/runs',
    {
      config: read,
      schema: {
        tags,
        summary: 'List runs, newest first, keyset-paged',
        querystring: Type.Object({
          profile: Type.Optional(Type.String()),
          status: Type.Optional(
            Type.Enum([...STATUSES, ...Object.keys(STATUS_ALIASES)], {
              description: "A run status; `pending` (the runbook's word) is an alias of `queued`.",
            }),
          ),
          since: Type.Optional(Type.String({ format: 'date-time' })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
          cursor: Type.Optional(Type.String()),
        }),
      },
    },
    async (request) => {
      const { status, ...query } = request.query;
      // The schema admits only STATUSES and the aliases' names.
      const canonical =
        status === undefined ? undefined : (STATUS_ALIASES[status] ?? (status as NonNullable<RunQuery['status']>));
      return service.listRuns(tenantOf(request), { ...query, ...(canonical ? { status: canonical } : {}) });
    },
  );
}

function registerRunControls(app: HttpApp, service: ExportService): void {
  app.get(
    '/api/export/runs/:runId',
    { config: read, schema: { tags, summary: 'One run: status, progress, errors, outputs', ...runParams } },
    async (request) => service.getRun(tenantOf(request), request.params.runId),
  );

  app.post(
    '/api/export/runs/:runId/cancel',
    { config: runScope, schema: { tags, summary: 'Cancel a queued or running run', ...runParams } },
    async (request) => service.cancel(tenantOf(request), request.params.runId),
  );

  app.post(
    '/api/export/runs/:runId/replay',
    {
      config: { ...runScope, idempotent: true },
      schema: {
        tags,
        summary: 'Resubmit a run with its profile revision, selectors and policy snapshot (runbook §7.1)',
        ...runParams,
      },
    },
    async (request, reply) => {
      const { runId } = request.params;
      const { run, quota } = await service.replay(tenantOf(request), runId, actorOf(request), traceOf(request));
      reply.headers(quotaHeaders(quota));
      reply.header('location', `/api/export/runs/${run.runId}`);
      return reply.code(202).send({
        runId: run.runId,
        status: run.status,
        profileRevision: run.profileRevision,
        policySnapshotId: run.policySnapshotId,
        replayOf: runId,
      });
    },
  );
}

export function registerRunRoutes(app: HttpApp, service: ExportService): void {
  registerRunSubmissions(app, service);
  registerRunControls(app, service);
}
