// A run's Server-Sent Events (GET /api/export/runs/{id}/events) read with fetch, because EventSource
// cannot send the bearer token. A dropped stream (server restart, proxy timeout) is opened again with
// Last-Event-ID, so the server replays only what was missed, until a terminal event arrives.

import { authorisedFetch } from '../../api.ts';
import { ApiError } from '../../api-error.ts';
import { EventStreamParser, type ParsedEvent } from './event-stream.ts';
import type { RunProgress, RunStatus } from './types.ts';

/** One event as the export service writes it: `data` always carries the run's status and progress. */
export interface RunEvent {
  id: number;
  type: string;
  data: {
    status: RunStatus;
    progress?: RunProgress;
    ts?: string;
    errorCode?: string;
    digest?: string;
  };
}

/** The events after which the server closes the stream (packages/export/src/routes/events.ts). */
export const TERMINAL_EVENTS: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled', 'expired']);

/** Waits before reopening a dropped stream: long enough not to hammer a restarting server, short enough to look live. */
const RECONNECT_MS = [250, 500, 1000, 2000, 4000] as const;

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'ended';

export interface RunEventHandlers {
  onEvent(event: RunEvent): void;
  onState(state: StreamState, lastEventId: number): void;
}

/**
 * Follows a run's events until a terminal one, the signal aborts, or the API refuses the stream (a
 * 4xx: unknown run, scope), which rejects with that ApiError. Network failures and 5xx are retried.
 */
export async function followRunEvents(runId: string, handlers: RunEventHandlers, signal: AbortSignal): Promise<void> {
  let lastEventId = 0;
  let failures = 0;
  handlers.onState('connecting', lastEventId);
  while (!signal.aborted) {
    try {
      const response = await authorisedFetch(`/api/export/runs/${encodeURIComponent(runId)}/events`, {
        headers: {
          accept: 'text/event-stream',
          ...(lastEventId > 0 ? { 'last-event-id': String(lastEventId) } : {}),
        },
        signal,
      });
      handlers.onState('live', lastEventId);
      failures = 0;
      const parser = new EventStreamParser();
      const body = response.body?.pipeThrough(new TextDecoderStream());
      if (!body) throw new TypeError('the event stream has no body');
      for await (const chunk of body as unknown as AsyncIterable<string>) {
        for (const parsed of parser.feed(chunk)) {
          const event = runEventOf(parsed);
          if (!event) continue;
          lastEventId = event.id;
          handlers.onEvent(event);
          if (TERMINAL_EVENTS.has(event.type)) {
            handlers.onState('ended', lastEventId);
            return;
          }
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.status < 500) throw error;
    }
    // The stream ended or failed before a terminal event: the server went away mid-run.
    handlers.onState('reconnecting', lastEventId);
    await pause(RECONNECT_MS[Math.min(failures, RECONNECT_MS.length - 1)]!, signal);
    failures++;
  }
}

function runEventOf(parsed: ParsedEvent): RunEvent | undefined {
  const id = Number(parsed.id);
  if (!Number.isInteger(id) || id < 1) return undefined;
  try {
    return { id, type: parsed.type, data: JSON.parse(parsed.data) as RunEvent['data'] };
  } catch {
    return undefined;
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
