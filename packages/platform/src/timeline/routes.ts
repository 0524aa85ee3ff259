// Timeline HTTP routes (spec §6): query, fetch one, NDJSON export, chain verification, and the
// internal append route.
import { Readable } from 'node:stream';
import { Errors, StellaError } from '@stella/core';
import Type from 'typebox';
import type { Db } from '../db/index.ts';
import type { HttpApp } from '../http/app.ts';
import { chainVerifier } from './chain.ts';
import type { Timeline } from './timeline.ts';
import { TimelineEventSchema, toWire } from './wire.ts';

const Filter = {
  category: Type.Optional(Type.String({ maxLength: 64 })),
  kind: Type.Optional(Type.String({ maxLength: 128 })),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'Inclusive lower bound (RFC 3339)' })),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'Exclusive upper bound (RFC 3339)' })),
  traceId: Type.Optional(Type.String({ maxLength: 128 })),
};

const ChainVerdictSchema = Type.Object({
  ok: Type.Boolean(),
  checked: Type.Integer({ description: 'Events that verified, from genesis.' }),
  head: Type.Optional(Type.String({ description: 'Hash of the last event, when the whole chain verified.' })),
  brokenAt: Type.Optional(
    Type.Object(
      { seq: Type.Integer(), eventId: Type.String(), reason: Type.String() },
      { description: 'The first event that does not verify.' },
    ),
  ),
});

/** Topic on which appended events are offered to subscribers (NATS bridges, notifiers). */
export const TIMELINE_APPENDED_TOPIC = 'timeline.event.appended';

export function registerTimelineRoutes(app: HttpApp, deps: { db: Db; timeline: Timeline; pageSize: number }): void {
  const { timeline } = deps;

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
      const traceId = request.body.traceId ?? headerTrace(request.headers);
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
        summary: "Verify the tenant's hash chain from genesis on the server (the console's button)",
        description:
          'The same check as `stella timeline verify`, which downloads the export and verifies it on the client: use that to verify without trusting the server.',
        response: { 200: ChainVerdictSchema },
      },
    },
    async (request) => {
      const verifier = chainVerifier();
      for await (const event of timeline.stream(request.tenant!, {})) if (!verifier.push(event)) break;
      return verifier.verdict();
    },
  );
}

async function* ndjson(events: AsyncIterable<import('./chain.ts').TimelineEvent>) {
  for await (const event of events) yield `${JSON.stringify(toWire(event))}\n`;
}

function headerTrace(headers: Record<string, string | string[] | undefined>): string | undefined {
  const v = headers['x-stella-traceid'] ?? headers['x-stella-trace-id'];
  const s = Array.isArray(v) ? v[0] : v;
  return s && /^[\w.:-]{1,128}$/.test(s) ? s : undefined;
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
