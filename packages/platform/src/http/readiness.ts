// Liveness and readiness: /healthz answers while the process is up; /readyz answers 200 only once
// migrations ran and workers started, before shutdown began, and while every registered dependency
// check passes in time.
import type { HttpApp, Readiness } from './app.ts';

// A readiness check slower than this counts as failing: probes must answer faster than the load
// balancer's own probe timeout (often 5 s).
const READINESS_CHECK_TIMEOUT_MS = 2000;

/** What /readyz reads and Readiness sets; `stopping` also closes keep-alive connections while draining. */
export interface ReadinessState {
  checks: Map<string, () => Promise<void>>;
  started: boolean;
  stopping: boolean;
}

/** A fresh state (not started, not stopping, no checks) and the Readiness handle that moves it. */
export function createReadiness(): { state: ReadinessState; readiness: Readiness } {
  const state: ReadinessState = { checks: new Map(), started: false, stopping: false };
  const readiness: Readiness = {
    addCheck: (name, check) => state.checks.set(name, check),
    markStarted: () => {
      state.started = true;
    },
    markStopping: () => {
      state.stopping = true;
    },
  };
  return { state, readiness };
}

/** GET /healthz and GET /readyz. */
export function healthRoutes(app: HttpApp, state: ReadinessState): void {
  app.get(
    '/healthz',
    { schema: { tags: ['platform'], summary: 'Liveness: the process is up', hide: false } },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/readyz',
    { schema: { tags: ['platform'], summary: 'Readiness: migrations ran and dependencies answer' } },
    async (_request, reply) => {
      const { results, failing } = await readinessReport(state);
      const ok = failing.length === 0;
      return reply
        .code(ok ? 200 : 503)
        .send({ status: ok ? 'ready' : 'not-ready', failing: failing.sort(), checks: results });
    },
  );
}

async function readinessReport(state: ReadinessState): Promise<{ results: Record<string, string>; failing: string[] }> {
  const results: Record<string, string> = {};
  const failing: string[] = [];
  if (!state.started) {
    results.startup = 'migrations or workers still starting';
    failing.push('startup');
  }
  if (state.stopping) {
    results.shutdown = 'shutting down';
    failing.push('shutdown');
  }
  await Promise.all(
    [...state.checks].map(async ([name, check]) => {
      try {
        await withTimeout(check(), READINESS_CHECK_TIMEOUT_MS);
        results[name] = 'ok';
      } catch (error) {
        results[name] = (error as Error).message;
        failing.push(name);
      }
    }),
  );
  return { results, failing };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]);
}
