// SPDX-License-Identifier: Apache-2.0
// The observer assembled: the coverage sampler feeding the transport, on a timer, with the last take
// made on the way out (beforeExit, SIGTERM/SIGINT, exit) before the transport flushes or spools.
import { type CoverageProfile, CoverageSampler } from './runtime/sampler.ts';
import { observerConfig } from './transport/config.ts';
import { registerExitHooks } from './transport/exit-hooks.ts';
import { createTransport, type Transport } from './transport/transport.ts';

export interface RunningObserver {
  sampler: CoverageSampler;
  transport: Transport;
  /** Takes coverage, flushes and stops (tests and hosts that manage their own shutdown). */
  close(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;

/** `STELLA_OBSERVER_PROFILE`: `function` (binary, default) or `counts` (block counts, opt-in). */
function profileOf(env: Env): CoverageProfile {
  const value = (env.STELLA_OBSERVER_PROFILE ?? 'function').trim();
  if (value !== 'function' && value !== 'counts') {
    throw new Error(`STELLA_OBSERVER_PROFILE=${value}: use function (default) or counts`);
  }
  return value;
}

export function startObserver(env: Env): RunningObserver {
  const config = observerConfig(env);
  const profile = profileOf(env);
  const sampler = new CoverageSampler({
    profile,
    ...(env.STELLA_OBSERVER_PROJECT_ROOT ? { projectRoot: env.STELLA_OBSERVER_PROJECT_ROOT } : {}),
    onEvents: (events) => {
      for (const event of events) transport.record(event);
    },
  });
  // Registered before the transport's own hooks, so the exit paths take coverage first and the
  // transport then sends (or spools) what that last take found.
  let finalTaken = false;
  const unregister = registerExitHooks({
    hasPending: () => !finalTaken,
    flushForExit: async () => {
      finalTaken = true;
      sampler.take();
    },
    spoolPendingSync: () => sampler.take(),
  });
  const transport = createTransport(config);
  sampler.start();
  const timer = setInterval(() => sampler.take(), config.flushIntervalMs);
  timer.unref();
  return {
    sampler,
    transport,
    async close() {
      clearInterval(timer);
      sampler.take();
      sampler.stop();
      unregister();
      await transport.close();
    },
  };
}
