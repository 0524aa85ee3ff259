// SPDX-License-Identifier: Apache-2.0
// Signals as a room of the server: its tables, routes, the recompute and orphan-attach workers, the
// fact-event bridge to NATS JetStream (when STELLA_NATS_URL is set) and its `stella` verbs.
import { Errors, StellaError } from '@stella/core';
import { type Ctx, createSigningKeyStore, type Module } from '@stella/platform';
import { registerSignalsCommands } from './commands.ts';
import { signalsConfig } from './config.ts';
import type { VulnerableSymbols } from './engine/targets.ts';
import { createNatsBridge, type NatsBridge } from './events.ts';
import { registerSignalsRoutes } from './routes/index.ts';
import { sweepSpool } from './runtime/spool.ts';
import { runtimeSpoolDir } from './runtime/stream.ts';
import { createSignals, type Signals } from './service.ts';
import { SIGNALS_NAMESPACES, signalsBlobUris } from './sql/blobs.ts';
import { FACT_TOPIC, ORPHAN_QUEUE, RECOMPUTE_QUEUE } from './topics.ts';

/** What the server gives the signals room: the AOC room's vulnerable symbols, for default targets. */
export interface SignalsModuleOptions {
  advisories: VulnerableSymbols;
}

interface RoomState {
  signals: Signals;
  bridge?: NatsBridge;
}

const rooms = new WeakMap<Ctx, RoomState>();

function room(ctx: Ctx, options: SignalsModuleOptions): RoomState {
  let state = rooms.get(ctx);
  if (!state) {
    state = {
      signals: createSignals({
        db: ctx.db,
        blobs: ctx.blobs,
        timeline: ctx.timeline,
        signing: createSigningKeyStore(ctx.db),
        config: ctx.config.signals,
        clock: ctx.clock,
        metrics: ctx.metrics,
        logger: ctx.logger,
        queue: ctx.queue,
        jsonLimits: {
          maxDepth: ctx.config.limits.jsonDepth,
          maxKeys: ctx.config.limits.jsonKeys,
          maxStringLength: ctx.config.limits.jsonStringLength,
        },
        advisories: options.advisories,
      }),
    };
    rooms.set(ctx, state);
  }
  return state;
}

/** The signals service of a running server (for tests and other rooms' in-process use). */
export function signalsOf(ctx: Ctx): Signals {
  const state = rooms.get(ctx);
  if (!state) throw new StellaError(Errors.internal, 'the signals room was not started on this server');
  return state.signals;
}

/** The signals room; `advisories` is the AOC room's vulnerableSymbols (the server passes it). */
export function createSignalsModule(options: SignalsModuleOptions): Module {
  return {
    name: 'signals',
    migrations: new URL('../migrations/', import.meta.url),
    dependsOn: ['platform', 'aoc'],
    config: signalsConfig,
    blobReferences: { namespaces: SIGNALS_NAMESPACES, uris: signalsBlobUris },
    async start(ctx) {
      room(ctx, options);
      // Spooled uploads of a process that died mid-upload (killed, out of memory) are removed here;
      // every other path removes its own. One readdir of a directory that is normally empty.
      const swept = await sweepSpool(runtimeSpoolDir(ctx.config));
      if (swept > 0) ctx.logger.info({ swept }, 'removed runtime upload spools left by a stopped process');
      // Defined in every target: the API queues recomputes and orphan retries that workers run.
      // stately: per subject at most one recompute queued and one running, so a burst of runtime batches
      // costs one recompute, not one per batch (recompute is incremental and reads all facts anyway).
      await ctx.queue.define(RECOMPUTE_QUEUE, { concurrencyKeyLimit: 1, policy: 'stately' });
      await ctx.queue.define(ORPHAN_QUEUE, { retryLimit: 10 });
    },
    async routes(app, ctx) {
      const state = room(ctx, options);
      await registerSignalsRoutes(app, { signals: state.signals, config: ctx.config, clock: ctx.clock });
      app.addHook('onClose', async () => {
        await state.bridge?.close();
      });
    },
    async jobs(queue, ctx) {
      const state = room(ctx, options);
      await queue.work<{ tenant: string; subjectKey?: string; force?: boolean }>(RECOMPUTE_QUEUE, async (job) =>
        state.signals.recompute(job.data.tenant, {
          ...(job.data.subjectKey ? { subjectKey: job.data.subjectKey } : {}),
          ...(job.data.force ? { force: true } : {}),
        }),
      );
      await queue.work<{ tenant: string; graphHash: string }>(ORPHAN_QUEUE, async (job) =>
        state.signals.attachOrphans(job.data.tenant, job.data.graphHash),
      );
      if (ctx.config.nats.url) {
        state.bridge = createNatsBridge({
          url: ctx.config.nats.url,
          maxAttempts: ctx.config.signals.eventMaxAttempts,
          logger: ctx.logger,
        });
        ctx.outbox.subscribe(FACT_TOPIC, state.bridge.handler);
      }
    },
    commands(program, cli) {
      registerSignalsCommands(program, cli, options.advisories);
    },
  };
}
