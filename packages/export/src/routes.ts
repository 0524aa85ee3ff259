// SPDX-License-Identifier: Apache-2.0
// The Export Center API (spec §2.3, base /api/export): profiles, runs, the SSE event stream,
// manifests, provenance, bundle download with Range and ETag, signing keys, quota and retention.
import { once } from 'node:events';
import { StellaError } from '@stella/core';
import {
  type BlobStore,
  type Config,
  decodeCursor,
  encodeCursor,
  type HttpApp,
  type SigningKeyStore,
} from '@stella/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { ExportErrors } from './errors.ts';
import { ExportProfileSchema } from './profiles/schema.ts';
import type { RetentionService } from './retention.ts';
import { type ExportService, quotaHeaders } from './service.ts';
import type { RunRow, RunStatus } from './sql/runs.ts';
import { SIGNING_PURPOSE } from './worker.ts';

const TERMINAL_EVENTS = new Set(['completed', 'failed', 'cancelled', 'expired']);
const POLL_MS = 1000;
const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'expired'];

export interface ExportRouteDeps {
  service: ExportService;
  retention: RetentionService;
  blobs: BlobStore;
  signing: SigningKeyStore;
  config: Config;
}

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
    policySnapshotId: Type.Optional(Type.String({ maxLength: 128 })),
  },
  { additionalProperties: false },
);

const tenantOf = (request: FastifyRequest) => request.tenant!;
const actorOf = (request: FastifyRequest) => request.principal?.subject ?? null;
const traceOf = (request: FastifyRequest) => {
  const value = request.headers['x-stella-trace-id'] ?? request.headers['x-stella-traceid'];
  return typeof value === 'string' ? value.slice(0, 128) : undefined;
};

/** The stored artefact of a run, or the error saying why there is none. */
function artefactOf(run: RunRow, which: 'bundle_uri' | 'manifest_uri' | 'provenance_uri'): string {
  const uri = run[which];
  if (uri) return uri;
  if (run.status === 'expired') {
    throw new StellaError(
      ExportErrors.expired,
      `run ${run.run_id} expired: retention removed its artefacts; replay it`,
    );
  }
  throw new StellaError(
    ExportErrors.conflict,
    `run ${run.run_id} is ${run.status}; its bundle is available once it has succeeded`,
  );
}

function parseRange(header: string, size: number): { start: number; end: number } | 'invalid' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return 'invalid';
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'invalid';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start > end || start >= size) return 'invalid';
  return { start, end };
}

export async function registerExportRoutes(app: HttpApp, deps: ExportRouteDeps): Promise<void> {
  const { service, blobs } = deps;
  const read = { auth: { scopes: ['export:read'] } };
  const manage = { auth: { scopes: ['export:profile:manage'] } };
  const runScope = { auth: { scopes: ['export:run'] } };
  const download = { auth: { scopes: ['export:download'] } };
  const tags = ['export'];

  // ---- profiles ----
  app.get(
    '/api/export/schemas/export-profile.json',
    { config: read, schema: { tags, summary: 'The ExportProfile JSON Schema (validated on create and update)' } },
    async () => ExportProfileSchema,
  );

  app.get(
    '/api/export/profiles',
    {
      config: read,
      schema: {
        tags,
        summary: 'List the latest revision of each export profile of the tenant',
        querystring: Type.Object({
          kind: Type.Optional(Type.String()),
          variant: Type.Optional(Type.String()),
          archived: Type.Optional(Type.Boolean({ default: false, description: 'Include archived profiles' })),
        }),
      },
    },
    async (request) => {
      const q = request.query as { kind?: string; variant?: string; archived?: boolean };
      return {
        items: await service.listProfiles(tenantOf(request), {
          ...(q.kind ? { kind: q.kind } : {}),
          ...(q.variant ? { variant: q.variant } : {}),
          includeArchived: q.archived ?? false,
        }),
      };
    },
  );

  app.post(
    '/api/export/profiles',
    {
      config: { ...manage, idempotent: true },
      schema: {
        tags,
        summary: 'Create an export profile (revision r1); 400 lists every schema error',
        description:
          '201 when created; 200 with the stored revision when a profile of that name already has this spec and labels; 409 ERR_EXPORT_007 when it has other content.',
        body: Type.Unknown(),
      },
    },
    async (request, reply) => {
      const { profile, created } = await service.createProfile(tenantOf(request), request.body, actorOf(request));
      reply.header('location', `/api/export/profiles/${profile.profileId}`);
      return reply.code(created ? 201 : 200).send(profile);
    },
  );

  app.get(
    '/api/export/profiles/:profileId',
    {
      config: read,
      schema: {
        tags,
        summary: 'One export profile (latest revision, or ?revision=rN)',
        params: Type.Object({ profileId: Type.String() }),
        querystring: Type.Object({ revision: Type.Optional(Type.String({ pattern: '^r[1-9][0-9]*$' })) }),
      },
    },
    async (request) => {
      const { profileId } = request.params as { profileId: string };
      const { revision } = request.query as { revision?: string };
      return service.getProfile(tenantOf(request), profileId, revision ? Number(revision.slice(1)) : undefined);
    },
  );

  for (const method of ['put', 'patch'] as const) {
    app[method](
      '/api/export/profiles/:profileId',
      {
        config: { ...manage, idempotent: true },
        schema: {
          tags,
          summary: 'Update a profile: stores revision r<N+1> (200 with the unchanged revision when nothing changed)',
          params: Type.Object({ profileId: Type.String() }),
          body: Type.Unknown(),
        },
      },
      async (request, reply) => {
        const { profileId } = request.params as { profileId: string };
        const { profile, created } = await service.updateProfile(
          tenantOf(request),
          profileId,
          request.body,
          actorOf(request),
        );
        return reply.code(created ? 201 : 200).send(profile);
      },
    );
  }

  app.post(
    '/api/export/profiles/:profileId/clone',
    {
      config: { ...manage, idempotent: true },
      schema: {
        tags,
        summary: 'Clone a profile under a new name (revision r1 of the clone)',
        params: Type.Object({ profileId: Type.String() }),
        body: Type.Object({ name: Type.String() }, { additionalProperties: false }),
      },
    },
    async (request, reply) => {
      const { profileId } = request.params as { profileId: string };
      const { name } = request.body as { name: string };
      return reply.code(201).send(await service.cloneProfile(tenantOf(request), profileId, name, actorOf(request)));
    },
  );

  app.post(
    '/api/export/profiles/:profileId/archive',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Archive a profile: no new runs; history kept',
        params: Type.Object({ profileId: Type.String() }),
      },
    },
    async (request) => service.archiveProfile(tenantOf(request), (request.params as { profileId: string }).profileId),
  );

  // ---- runs ----
  app.post(
    '/api/export/runs',
    {
      config: { ...runScope, idempotent: true },
      schema: {
        tags,
        summary: 'Submit an export run (202); 429 ERR_EXPORT_QUOTA over the tenant quota',
        body: RunSubmit,
        response: {
          202: Type.Object({ runId: Type.String(), status: Type.String(), profileRevision: Type.String() }),
        },
      },
    },
    async (request, reply) => {
      const body = request.body as {
        profileId: string;
        selectors?: Record<string, unknown>;
        allowEmpty?: boolean;
        priority?: 'normal' | 'catch-up';
      };
      const { run, quota } = await service.submit(tenantOf(request), body, actorOf(request), traceOf(request));
      reply.headers(quotaHeaders(quota));
      reply.header('location', `/api/export/runs/${run.runId}`);
      return reply.code(202).send({ runId: run.runId, status: run.status, profileRevision: run.profileRevision });
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
          status: Type.Optional(Type.Enum(STATUSES)),
          since: Type.Optional(Type.String({ format: 'date-time' })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
          cursor: Type.Optional(Type.String()),
        }),
      },
    },
    async (request) => {
      const q = request.query as {
        profile?: string;
        status?: RunStatus;
        since?: string;
        limit?: number;
        cursor?: string;
      };
      const limit = q.limit ?? 50;
      const items = await service.listRuns(tenantOf(request), {
        profile: q.profile,
        status: q.status,
        since: q.since,
        after: decodeCursor(q.cursor, ExportErrors.validation),
        limit,
      });
      const last = items.at(-1);
      return { items, nextCursor: items.length === limit && last ? encodeCursor(last.createdAt, last.runId) : null };
    },
  );

  const runParams = { params: Type.Object({ runId: Type.String({ maxLength: 64 }) }) };
  const runIdOf = (request: FastifyRequest) => (request.params as { runId: string }).runId;

  app.get(
    '/api/export/runs/:runId',
    { config: read, schema: { tags, summary: 'One run: status, progress, errors, outputs', ...runParams } },
    async (request) => service.getRun(tenantOf(request), runIdOf(request)),
  );

  app.post(
    '/api/export/runs/:runId/cancel',
    { config: runScope, schema: { tags, summary: 'Cancel a queued or running run', ...runParams } },
    async (request) => service.cancel(tenantOf(request), runIdOf(request)),
  );

  app.post(
    '/api/export/runs/:runId/replay',
    {
      config: { ...runScope, idempotent: true },
      schema: { tags, summary: 'Resubmit a run with its profile revision and selectors (runbook §7.1)', ...runParams },
    },
    async (request, reply) => {
      const { run, quota } = await service.replay(
        tenantOf(request),
        runIdOf(request),
        actorOf(request),
        traceOf(request),
      );
      reply.headers(quotaHeaders(quota));
      reply.header('location', `/api/export/runs/${run.runId}`);
      return reply.code(202).send({
        runId: run.runId,
        status: run.status,
        profileRevision: run.profileRevision,
        replayOf: runIdOf(request),
      });
    },
  );

  app.get(
    '/api/export/runs/:runId/events',
    {
      config: read,
      schema: {
        tags,
        summary:
          'Server-Sent Events of a run (started, progress, artifact_ready, completed, failed, cancelled); Last-Event-ID resumes',
        ...runParams,
      },
    },
    async (request, reply) => streamEvents(request, reply, deps),
  );

  const sendArtefact = async (
    request: FastifyRequest,
    reply: FastifyReply,
    which: 'manifest_uri' | 'provenance_uri',
    digestOf: (run: RunRow) => string | null,
  ) => {
    const run = await service.runRow(tenantOf(request), runIdOf(request));
    const uri = artefactOf(run, which);
    const bytes = await blobs.getBytes(uri);
    const etag = `"${digestOf(run) ?? uri}"`;
    reply.header('etag', etag);
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type('application/json; charset=utf-8').send(bytes);
  };

  app.get(
    '/api/export/runs/:runId/manifest',
    { config: download, schema: { tags, summary: 'export.json of a run', ...runParams } },
    async (request, reply) => sendArtefact(request, reply, 'manifest_uri', (r) => r.manifest_digest),
  );

  app.get(
    '/api/export/runs/:runId/provenance',
    { config: download, schema: { tags, summary: 'provenance.json (in-toto Statement v1) of a run', ...runParams } },
    async (request, reply) => sendArtefact(request, reply, 'provenance_uri', () => null),
  );

  app.get(
    '/api/export/runs/:runId/download',
    {
      config: download,
      schema: {
        tags,
        summary: 'The bundle, streamed; Range and If-Range supported; ETag is the bundle digest',
        ...runParams,
      },
    },
    async (request, reply) => {
      const run = await service.runRow(tenantOf(request), runIdOf(request));
      const uri = artefactOf(run, 'bundle_uri');
      const size = Number(run.bundle_bytes);
      const etag = `"${run.bundle_digest}"`;
      reply.header('etag', etag);
      reply.header('accept-ranges', 'bytes');
      reply.header('content-type', run.bundle_media_type ?? 'application/octet-stream');
      reply.header('content-disposition', `attachment; filename="${run.bundle_file_name}"`);
      reply.header('x-stella-bundle-digest', run.bundle_digest ?? '');
      if (request.headers['if-none-match'] === etag) return reply.code(304).send();
      const rangeHeader = request.headers.range;
      const ifRange = request.headers['if-range'];
      if (rangeHeader && (ifRange === undefined || ifRange === etag)) {
        const range = parseRange(rangeHeader, size);
        if (range === 'invalid') {
          reply.header('content-range', `bytes */${size}`);
          throw new StellaError(
            ExportErrors.range,
            `Range ${rangeHeader.slice(0, 60)} does not fit a ${size}-byte bundle`,
          );
        }
        if (range) {
          reply.code(206);
          reply.header('content-range', `bytes ${range.start}-${range.end}/${size}`);
          reply.header('content-length', String(range.end - range.start + 1));
          return reply.send(await blobs.getRange(uri, range.start, range.end));
        }
      }
      reply.header('content-length', String(size));
      return reply.send(await blobs.get(uri));
    },
  );

  // ---- keys, quota, retention ----
  app.get(
    '/api/export/keys',
    {
      config: read,
      schema: { tags, summary: "The tenant's export-center public keys (PEM); bundles ship the signing key too" },
    },
    async (request) => {
      const tenant = tenantOf(request);
      // Created on first use, so an operator can pin the key before the first run.
      await deps.signing.getSigner(tenant, SIGNING_PURPOSE, 'ecdsa-p256');
      const keys = (await deps.signing.listPublicKeys(tenant)).filter((k) => k.purpose === SIGNING_PURPOSE);
      return { keys };
    },
  );

  app.get(
    '/api/export/quota',
    { config: read, schema: { tags, summary: "The tenant's run quota for today" } },
    async (request, reply) => {
      const quota = await service.quota(tenantOf(request));
      reply.headers(quotaHeaders(quota));
      return quota;
    },
  );

  app.put(
    '/api/export/quota',
    {
      config: { auth: { scopes: ['orch:quota'] } },
      schema: {
        tags,
        summary: "Set the tenant's runs per UTC day; 0 pauses submissions (runbook §7.3)",
        body: Type.Object({ runsPerDay: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
      },
    },
    async (request, reply) => {
      const quota = await service.setQuota(
        tenantOf(request),
        (request.body as { runsPerDay: number }).runsPerDay,
        actorOf(request),
      );
      reply.headers(quotaHeaders(quota));
      return quota;
    },
  );

  app.post(
    '/api/export/retention/run',
    { config: manage, schema: { tags, summary: "Prune the tenant's bundles by each profile's retention now" } },
    async (request) => deps.retention.prune(tenantOf(request)),
  );
}

async function streamEvents(request: FastifyRequest, reply: FastifyReply, deps: ExportRouteDeps): Promise<void> {
  const { service, config } = deps;
  const tenant = tenantOf(request);
  const runId = (request.params as { runId: string }).runId;
  await service.runRow(tenant, runId);
  const header = request.headers['last-event-id'];
  const resume = Number(
    typeof header === 'string' ? header : ((request.query as { lastEventId?: string }).lastEventId ?? 0),
  );
  let last = Number.isInteger(resume) && resume > 0 ? resume : 0;

  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let closed = false;
  let wake: (() => void) | undefined;
  const nudge = () => wake?.();
  raw.on('close', () => {
    closed = true;
    nudge();
  });
  service.bus.on(runId, nudge);
  const keepalive = setInterval(() => {
    if (!closed) raw.write(': keepalive\n\n');
  }, config.export.keepaliveSeconds * 1000);
  keepalive.unref();
  const write = async (text: string) => {
    if (!raw.write(text)) await Promise.race([once(raw, 'drain'), once(raw, 'close')]);
  };
  try {
    for (;;) {
      const events = await service.events(tenant, runId, last);
      let finished = false;
      for (const event of events) {
        await write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`);
        last = event.seq;
        if (TERMINAL_EVENTS.has(event.type)) finished = true;
      }
      if (finished || closed) break;
      if (events.length === 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, POLL_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    }
  } catch (error) {
    request.log.warn({ err: error, runId }, 'export event stream ended with an error');
  } finally {
    clearInterval(keepalive);
    service.bus.off(runId, nudge);
    if (!closed) raw.end();
  }
}
