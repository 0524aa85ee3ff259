// Signals' HTTP face (spec §1.1, seeds 000 and 001). Runtime uploads are streamed: the NDJSON routes
// take the raw request stream and never buffer it; JSON routes use Fastify's parser. Routes are thin:
// typed from their TypeBox schemas, one service call, the answer.
import type { Clock } from '@stella/core';
import type { Config, HttpApp } from '@stella/platform';
import Type from 'typebox';
import type { Signals } from '../service.ts';
import { registerCallgraphRoutes } from './callgraphs.ts';
import { registerFactRoutes } from './facts.ts';
import { registerKeyRoutes } from './keys.ts';
import { registerRecomputeRoutes } from './recompute.ts';
import { registerRuntimeEventRoutes, registerRuntimeStreamRoutes } from './runtime.ts';
import { tags } from './schemas.ts';
import { registerUnknownsRoutes } from './unknowns.ts';

export interface SignalsRouteDeps {
  signals: Signals;
  config: Config;
  clock: Clock;
}

export async function registerSignalsRoutes(app: HttpApp, deps: SignalsRouteDeps): Promise<void> {
  const { signals, config } = deps;
  const uploads = { signals, config, clock: deps.clock };
  // In this order: the OpenAPI document lists paths as they were registered.
  await registerRuntimeStreamRoutes(app, uploads);
  registerStatusRoutes(app, config);
  registerCallgraphRoutes(app, signals, config);
  registerRuntimeEventRoutes(app, uploads);
  registerRecomputeRoutes(app, signals);
  registerFactRoutes(app, signals);
  registerUnknownsRoutes(app, signals);
  registerKeyRoutes(app, signals);
}

function registerStatusRoutes(app: HttpApp, config: Config): void {
  const read = { auth: { scopes: ['signals:read'] } };
  app.get(
    '/signals/ping',
    { config: read, schema: { tags, summary: 'Liveness of the signals API (204)' } },
    async (_request, reply) => reply.code(204).send(),
  );

  app.get(
    '/signals/status',
    {
      config: read,
      schema: {
        tags,
        summary: 'Signals configuration at a glance',
        response: {
          200: Type.Object({
            events: Type.String(),
            offlineStalenessBudgetSeconds: Type.Integer(),
            trustRootsConfigured: Type.Boolean(),
          }),
        },
      },
    },
    async () => ({
      events: config.nats.url ? 'nats-jetstream' : 'in-process',
      offlineStalenessBudgetSeconds: config.signals.offlineStalenessBudgetSeconds,
      trustRootsConfigured: config.signals.trustRootsPath !== '',
    }),
  );
}
