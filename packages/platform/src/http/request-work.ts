// Each request is in-flight work: its database calls run under its signal, so the request deadline
// (server.requestTimeoutMs) and a shutdown's cut-off cancel them, and a stuck shutdown can name it.
import { Errors, StellaError } from '@stella/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { describeWork, runInWork, type Work, type WorkTracker } from '../db/index.ts';
import { sendProblem } from './problem.ts';

// Longer than any answer a healthy server takes to compute (the slowest list pages take seconds), and
// shorter than the 100-120 s after which common proxies and load balancers give up on their own.
export const DEFAULT_REQUEST_DEADLINE_MS = 60_000;

interface RequestWork {
  work: Work & { end(): void };
  handlerStarted(): void;
  handlerSettled(): void;
}

export interface RequestWorkOptions {
  work: WorkTracker;
  /** Default deadline in ms from the last body byte to the response headers; 0 for none. A route's config.deadlineMs overrides it. */
  deadlineMs: number;
}

/** Registers the hooks that track every request as work under its deadline. Call before routes are added. */
export function trackRequestWork(app: FastifyInstance, options: RequestWorkOptions): void {
  const { work, deadlineMs } = options;
  const requestWork = new WeakMap<FastifyRequest, RequestWork>();

  // A handler's promise settling is when its work ends (see onRequest); its result passes through untouched.
  app.addHook('onRoute', (route) => {
    const handler = route.handler;
    route.handler = function trackedHandler(this: unknown, request, reply) {
      const tracked = requestWork.get(request as FastifyRequest);
      const result = (handler as (this: unknown, ...args: unknown[]) => unknown).call(this, request, reply);
      if (tracked && result && typeof (result as PromiseLike<unknown>).then === 'function') {
        tracked.handlerStarted();
        (result as PromiseLike<unknown>).then(tracked.handlerSettled, tracked.handlerSettled);
      }
      return result as ReturnType<typeof handler>;
    };
  });

  // Each request is in-flight work: its database calls run under its signal (request deadline,
  // shutdown), and a stuck shutdown can name it. Entered again after body parsing, whose socket
  // callbacks run outside it.
  app.addHook('onRequest', (request, reply, done) => {
    const current = work.begin(String(request.id), `${request.method} ${request.url.split('?')[0]}`);
    const limit = request.routeOptions.config?.deadlineMs ?? deadlineMs;
    let timer: NodeJS.Timeout | undefined;
    // In flight until the answer is out and the handler has returned: a handler still running after a
    // deadline's 503 or a closed connection is still work a shutdown waits for.
    let answered = false;
    let handlerRunning = false;
    const settle = () => {
      if (answered && !handlerRunning) current.end();
    };
    const tracked: RequestWork = {
      work: current,
      handlerStarted: () => {
        handlerRunning = true;
      },
      handlerSettled: () => {
        handlerRunning = false;
        settle();
      },
    };
    requestWork.set(request, tracked);
    const answer = () => {
      clearTimeout(timer);
      answered = true;
      settle();
    };
    reply.raw.once('close', answer);
    reply.raw.once('finish', answer);
    if (limit) {
      const expire = () => answerDeadline(request, reply, current, limit);
      // Receiving the body is bounded by Node's request timeout; the deadline counts the work after it.
      const arm = () => {
        if (current.signal.aborted || reply.sent) return;
        current.deadlineAt = Date.now() + limit;
        timer = setTimeout(expire, limit);
      };
      const headers = request.headers;
      const hasBody = headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
      if (!hasBody || request.raw.complete) arm();
      else request.raw.once('end', arm);
    }
    runInWork(current, done);
  });
  app.addHook('preValidation', (request, _reply, done) => {
    runInWork(requestWork.get(request)?.work, done);
  });
}

/** The deadline passed before the answer began: 503, and the request's work (its database statements) is cancelled. */
function answerDeadline(request: FastifyRequest, reply: FastifyReply, work: Work, limitMs: number): void {
  // An answer already streaming (SSE, a download) is past the deadline's reach, by design.
  if (reply.sent || reply.raw.headersSent) return;
  const error = new StellaError(
    Errors.requestDeadline,
    `no answer within ${limitMs} ms (server.requestTimeoutMs); the request was cancelled`,
  );
  request.log.warn({ code: error.code, deadlineMs: limitMs }, `request deadline passed: ${describeWork(work)}`);
  work.abort(error);
  // Sent outside the request's work, whose signal just fired: onSend hooks (idempotency) still reach the database.
  runInWork(undefined, () => {
    sendProblem(reply, request, error);
    // The handler is still running; whatever it returns later is dropped instead of sent twice.
    reply.hijack();
  });
}
