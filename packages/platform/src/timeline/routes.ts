// Timeline HTTP routes (spec §6): query, fetch one, NDJSON export, chain verification, the internal
// append route, and the signed checkpoints and retention that let old events go.
import { Readable } from 'node:stream';
import { Errors, StellaError } from '@stella/core';
import Type from 'typebox';
import type { Db } from '../db/index.ts';
import type { HttpApp } from '../http/app.ts';
import { callerTraceId } from '../http/problem.ts';
import type { PruneReport, TimelineCheckpoints } from './checkpoints.ts';
import type { Timeline } from './timeline.ts';
import { checkpointToWire, TimelineCheckpointSchema, TimelineEventSchema, toWire } from './wire.ts';

const Filter = {
  category: Type.Optional(Type.String({ maxLength: 64 })),
  kind: Type.Optional(Type.String({ maxLength: 128 })),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'Inclusive lower bound (RFC 3339)' })),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'Exclusive upper bound (RFC 3339)' })),
  traceId: Type.Optional(Type.String({ maxLength: 128 })),
};

const ChainVerdictSchema = Type.Object({
  ok: Type.Boolean(),
  checked: Type.Integer({ description: 'Events that verified, from genesis or from the anchor checkpoint.' }),
  head: Type.Optional(Type.String({ description: 'Hash of the last event, when the whole chain verified.' })),
  brokenAt: Type.Optional(
    Type.Object(
      { seq: Type.Integer(), eventId: Type.String(), reason: Type.String() },
      {
        description:
          'The first event that does not verify. When a checkpoint does not verify (invalidCheckpoint), its seq and checkpoint id.',
      },
    ),
  ),
  from: Type.Union([Type.Literal('genesis'), Type.Literal('checkpoint')], {
    description: 'genesis when event 1 is retained; else checkpoint: retention pruned up to `anchor`.',
  }),
  anchor: Type.Optional(
    Type.Object(
      {
        checkpointId: Type.String(),
        seq: Type.Integer(),
        headHash: Type.String(),
        keyid: Type.String(),
        createdAt: Type.String({ format: 'date-time' }),
      },
      { description: 'The signed checkpoint the first retained event links to.' },
    ),
  ),
  checkpoints: Type.Integer({ description: 'Retained signed checkpoints whose signature verified.' }),
  invalidCheckpoint: Type.Optional(
    Type.Object(
      { checkpointId: Type.String(), seq: Type.Integer(), reason: Type.String() },
      {
        description:
          'The first checkpoint whose signature or statement does not verify (ERR_TIMELINE_CHECKPOINT_INVALID).',
      },
    ),
  ),
});

const PruneReportSchema = Type.Object({
  tenant: Type.String(),
  retentionDays: Type.Integer({ description: 'timeline.retentionDays; 0: retention is off and nothing is pruned.' }),
  cutoff: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  throughSeq: Type.Union([Type.Integer(), Type.Null()], {
    description: 'The checkpoint events were pruned up to (inclusive); null when none was signed before the cutoff.',
  }),
  prunedEvents: Type.Integer(),
  prunedCheckpoints: Type.Integer(),
});

const PublicKeySchema = Type.Object({
  keyid: Type.String(),
  algorithm: Type.String(),
  publicKeyPem: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('retired')]),
  createdAt: Type.String({ format: 'date-time' }),
});

/** Operating the timeline's signing and deletion is the platform operator's, like key rotation. */
const ADMIN_SCOPE = 'authority:admin';

/** Topic on which appended events are offered to subscribers (NATS bridges, notifiers). */
export const TIMELINE_APPENDED_TOPIC = 'timeline.event.appended';

export interface TimelineRouteDeps {
  db: Db;
  timeline: Timeline;
  checkpoints: TimelineCheckpoints;
  pageSize: number;
  /** timeline.retentionDays, for POST /api/v1/timeline/prune. */
  retentionDays: number;
}

export function registerTimelineRoutes(app: HttpApp, deps: TimelineRouteDeps): void {
  const { timeline, checkpoints } = deps;

  app.post(
    '/timeline/events',
    {
      config: { auth: { scopes: ['timeline:write'] }, idempotent: true },
      schema: {
        tags: ['timeline'],
        summary: 'Append an event to the tenant timeline (internal)',
        body: Type.Object(
          {
            category: Type.String({ pattern: '^[a-z][a-z0-9_-]*$', maxLength: 64 }),
            kind: Type.String({ pattern: '^[a-z][a-z0-9_.-]*$', maxLength: 128 }),
            details: Type.Record(Type.String(), Type.Unknown()),
            traceId: Type.Optional(Type.String({ maxLength: 128 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: TimelineEventSchema },
      },
    },
    async (request, reply) => {
      const traceId = request.body.traceId ?? callerTraceId(request);
      const tenant = request.tenant!;
      const event = await deps.db.transaction(
        async (tx) => {
          const appended = await timeline.append(tx, tenant, { ...request.body, traceId });
          await timeline.publish(tx, tenant, TIMELINE_APPENDED_TOPIC, toWire(appended));
          return appended;
        },
        { tenant },
      );
      return reply.code(201).header('location', `/api/v1/timeline/events/${event.eventId}`).send(toWire(event));
    },
  );

  app.get(
    '/api/v1/timeline/events',
    {
      config: { auth: { scopes: ['timeline:read'] } },
      schema: {
        tags: ['timeline'],
        summary: 'List timeline events, oldest first, with cursor paging',
        querystring: Type.Object({
          ...Filter,
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          cursor: Type.Optional(Type.String({ maxLength: 64, description: 'nextCursor of the previous page' })),
        }),
        response: {
          200: Type.Object({
            items: Type.Array(TimelineEventSchema),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (request) => {
      const { cursor, limit, ...filter } = request.query;
      const pageSize = limit ?? deps.pageSize;
      const items = await timeline.list(request.tenant!, {
        ...filter,
        afterSeq: cursor === undefined ? undefined : decodeCursor(cursor),
        limit: pageSize + 1,
      });
      const page = items.slice(0, pageSize);
      const nextCursor = items.length > pageSize ? encodeCursor(page.at(-1)!.seq) : null;
      return { items: page.map(toWire), nextCursor };
    },
  );

  app.get(
    '/api/v1/timeline/events/:id',
    {
      config: { auth: { scopes: ['timeline:read'] } },
      schema: {
        tags: ['timeline'],
        summary: 'One timeline event (ETag = its hash)',
        params: Type.Object({ id: Type.String({ pattern: '^[0-9A-HJKMNP-TV-Z]{26}$' }) }),
        response: { 200: TimelineEventSchema, 304: Type.Null({ description: 'Not modified (If-None-Match)' }) },
      },
    },
    async (request, reply) => {
      const event = await timeline.get(request.tenant!, request.params.id);
      if (!event) throw new StellaError(Errors.notFound, `timeline event ${request.params.id} not found`);
      const etag = `"${event.hash}"`;
      reply.header('etag', etag);
      if (request.headers['if-none-match'] === etag) return reply.code(304).send(null);
      return toWire(event);
    },
  );

  app.get(
    '/api/v1/timeline/export',
    {
      config: { auth: { scopes: ['timeline:read'] } },
      schema: {
        tags: ['timeline'],
        summary: 'Export events as NDJSON (one event per line, chain order)',
        querystring: Type.Object(Filter),
        produces: ['application/x-ndjson'],
      },
    },
    async (request, reply) => {
      const events = timeline.stream(request.tenant!, request.query);
      reply.type('application/x-ndjson');
      return reply.send(Readable.from(ndjson(events)));
    },
  );

  app.get(
    '/api/v1/timeline/verify',
    {
      config: { auth: { scopes: ['timeline:read'] } },
      schema: {
        tags: ['timeline'],
        summary: "Verify the tenant's hash chain on the server (the console's button)",
        description:
          "From genesis when event 1 is retained, else from the oldest retained checkpoint (its DSSE signature checked against the tenant's `timeline` keys of every status, the first retained event linked to its head). Every retained checkpoint must verify and match the chain. The same check as `stella timeline verify`, which downloads the export and checkpoints and verifies them on the client: use that to verify without trusting the server.",
        response: { 200: ChainVerdictSchema },
      },
    },
    async (request) => checkpoints.verify(request.tenant!),
  );

  app.get(
    '/api/v1/timeline/checkpoints',
    {
      config: { auth: { scopes: ['timeline:read'] } },
      schema: {
        tags: ['timeline'],
        summary: 'Signed checkpoints of the tenant chain, oldest first, with the public keys that verify them',
        description:
          "`keys` are the tenant's `timeline` signing keys of every status: a retired key still verifies the checkpoints it signed.",
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          cursor: Type.Optional(Type.String({ maxLength: 64, description: 'nextCursor of the previous page' })),
        }),
        response: {
          200: Type.Object({
            items: Type.Array(TimelineCheckpointSchema),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
            keys: Type.Array(PublicKeySchema),
          }),
        },
      },
    },
    async (request) => {
      const tenant = request.tenant!;
      const pageSize = request.query.limit ?? deps.pageSize;
      const afterSeq = request.query.cursor === undefined ? undefined : decodeCursor(request.query.cursor);
      const items = await checkpoints.list(tenant, { afterSeq, limit: pageSize + 1 });
      const page = items.slice(0, pageSize);
      const nextCursor = items.length > pageSize ? encodeCursor(page.at(-1)!.seq) : null;
      return { items: page.map(checkpointToWire), nextCursor, keys: await checkpoints.keys(tenant) };
    },
  );

  app.post(
    '/api/v1/timeline/checkpoints',
    {
      config: { auth: { scopes: [ADMIN_SCOPE] } },
      schema: {
        tags: ['timeline'],
        summary: "Sign the tenant's chain head now (a checkpoint), when it moved since the last one",
        description:
          '201 with the new checkpoint; 200 with `written: false` and the newest checkpoint (null when the chain is empty) when the head has not moved. The checkpoint job does the same every timeline.checkpointIntervalSeconds.',
        response: {
          200: Type.Object({
            written: Type.Boolean(),
            checkpoint: Type.Union([TimelineCheckpointSchema, Type.Null()]),
          }),
          201: Type.Object({ written: Type.Boolean(), checkpoint: TimelineCheckpointSchema }),
        },
      },
    },
    async (request, reply) => {
      const result = await checkpoints.write(request.tenant!);
      const checkpoint = result.checkpoint ? checkpointToWire(result.checkpoint) : null;
      return reply.code(result.written ? 201 : 200).send({ written: result.written, checkpoint });
    },
  );

  app.post(
    '/api/v1/timeline/prune',
    {
      config: { auth: { scopes: [ADMIN_SCOPE] } },
      schema: {
        tags: ['timeline'],
        summary: 'Apply timeline retention to the tenant now (what the daily job does)',
        description:
          'Deletes events older than timeline.retentionDays, only up to (and including) the newest checkpoint signed before that cutoff, so the rest still verifies from it. Nothing is pruned when retention is off (0) or no checkpoint is old enough. Records `timeline.pruned` on the timeline.',
        response: { 200: PruneReportSchema },
      },
    },
    async (request) => pruneToWire(await checkpoints.prune(request.tenant!, deps.retentionDays)),
  );
}

function pruneToWire(report: PruneReport) {
  return { ...report, cutoff: report.cutoff ?? null, throughSeq: report.throughSeq ?? null };
}

async function* ndjson(events: AsyncIterable<import('./chain.ts').TimelineEvent>) {
  for await (const event of events) yield `${JSON.stringify(toWire(event))}\n`;
}

function encodeCursor(seq: number): string {
  return Buffer.from(`s:${seq}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString();
  const match = /^s:(\d{1,15})$/.exec(text);
  if (!match)
    throw new StellaError(Errors.invalidCursor, 'cursor is malformed: pass nextCursor from the previous page');
  return Number(match[1]);
}
