// SPDX-License-Identifier: Apache-2.0
// The run's Server-Sent Events (spec §2.3): stored events replayed after Last-Event-ID (header, or
// ?lastEventId= for clients that cannot set headers), then new ones as they are appended, with a
// comment keepalive, until a terminal event, the client leaves, or the server stops (the client then
// resumes with Last-Event-ID on another instance or after the restart).
import { once } from 'node:events';
import type { HttpApp } from '@stella/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ExportService } from '../service/index.ts';
import { read, runParams, tags } from './options.ts';
import { tenantOf } from './request.ts';

const TERMINAL_EVENTS = new Set(['completed', 'failed', 'cancelled', 'expired']);
// Another process's events are found by polling; a run's events in this process wake the stream at once.
const POLL_MS = 1000;

/**
 * Where the stream resumes. `lastEventId` is not in the route's query schema (adding it would change
 * the published OpenAPI document), so it is read here with a runtime check.
 */
function resumeAfter(request: FastifyRequest): number {
  const header = request.headers['last-event-id'];
  const query: unknown = request.query;
  const fromQuery =
    typeof query === 'object' && query !== null && 'lastEventId' in query ? query.lastEventId : undefined;
  const resume = Number(typeof header === 'string' ? header : (fromQuery ?? 0));
  return Number.isInteger(resume) && resume > 0 ? resume : 0;
}

async function streamEvents(
  request: FastifyRequest,
  reply: FastifyReply,
  service: ExportService,
  keepaliveSeconds: number,
  runId: string,
  openStreams: Set<() => void>,
): Promise<void> {
  const tenant = tenantOf(request);
  await service.runRow(tenant, runId);
  let last = resumeAfter(request);

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
  let stopping = false;
  const stop = () => {
    stopping = true;
    nudge();
  };
  openStreams.add(stop);
  service.bus.on(runId, nudge);
  const keepalive = setInterval(() => {
    if (!closed) raw.write(': keepalive\n\n');
  }, keepaliveSeconds * 1000);
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
      if (finished || closed || stopping) break;
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
    openStreams.delete(stop);
    if (!closed) raw.end();
  }
}

export function registerEventRoutes(app: HttpApp, service: ExportService, keepaliveSeconds: number): void {
  // A stream never ends by itself while its run is queued: without this a stop would wait out the whole
  // shutdown grace period for every open stream, and log them as cut off.
  const openStreams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const stop of openStreams) stop();
  });
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
    async (request, reply) =>
      streamEvents(request, reply, service, keepaliveSeconds, request.params.runId, openStreams),
  );
}
