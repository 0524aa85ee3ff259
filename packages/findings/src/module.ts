// SPDX-License-Identifier: Apache-2.0
// The findings room as a module of the server: SBOM storage and scanning, policy snapshots, stored
// findings kept current by recompute jobs, their routes, and the `stella sbom|scan|policy|findings|
// versions` verbs. Advisories, VEX and reachability come through ports the server wires to the AOC
// and Signals rooms' doors; their outbox topics (also wired by the server) queue recomputes.
import { type Ctx, createSigningKeyStore, type JobQueue, type Module } from '@stella/platform';
import { registerFindingsCommands } from './commands/findings.ts';
import { registerPolicyCommands } from './commands/policy.ts';
import { registerSbomCommands } from './commands/sbom.ts';
import { registerScanCommand } from './commands/scan.ts';
import { registerVersionsCommands } from './commands/versions.ts';
import { findingsConfig } from './config.ts';
import type { ReachabilitySource } from './evidence/reachability.ts';
import { registerFindingRoutes } from './routes/findings.ts';
import { registerPolicyRoutes } from './routes/policy.ts';
import { registerSbomRoutes } from './routes/sboms.ts';
import { registerScanRoutes } from './routes/scan.ts';
import type { AdvisorySource } from './scan/advisories.ts';
import { createScanService, type ScanService } from './scan/service.ts';
import { createFindingsService, type FindingsService, SBOM_NAMESPACE } from './service.ts';
import { createSnapshotService, type SnapshotService } from './snapshots/service.ts';
import { sbomBlobUris } from './sql/sboms.ts';
import { evaluatorFor } from './store/evaluate.ts';
import { createFindingStore, type FindingStore } from './store/service.ts';
import type { VexSource } from './vex/index.ts';

/** What the server gives the findings room: the doors of the raw stores (AOC: advisories, VEX) and of Signals. */
export interface FindingsModuleOptions {
  advisories: AdvisorySource;
  reachability: ReachabilitySource;
  vex: VexSource;
  /**
   * Outbox topics after which the tenant's findings are recomputed (raw advisories or VEX written, a
   * reachability fact changed). A payload naming `subject_key` recomputes that subject only.
   */
  recomputeOn?: readonly string[];
}

/** The queue of recomputes: `{tenant, subjectKey?}`, without a subject every subject of the tenant. */
export const RECOMPUTE_QUEUE = 'findings.recompute';

interface RoomState {
  sboms: FindingsService;
  scans: ScanService;
  store: FindingStore;
  snapshots: SnapshotService;
  queueRecompute(tenant: string, subjectKey?: string): Promise<string | null>;
}

const rooms = new WeakMap<Ctx, RoomState>();

/**
 * Queues a recompute. stately per scope: at most one waiting and one running, so a burst of ingests
 * costs one recompute after it, not one each (a recompute reads everything current when it runs).
 */
function recomputeQueuer(queue: JobQueue) {
  return (tenant: string, subjectKey?: string) =>
    queue.send(
      RECOMPUTE_QUEUE,
      { tenant, ...(subjectKey ? { subjectKey } : {}) },
      {
        key: tenant,
        singletonKey: `${tenant}|${subjectKey ?? '*'}`,
      },
    );
}

function room(ctx: Ctx, options: FindingsModuleOptions): RoomState {
  let state = rooms.get(ctx);
  if (state) return state;
  const jsonLimits = {
    maxDepth: ctx.config.limits.jsonDepth,
    maxKeys: ctx.config.limits.jsonKeys,
    maxStringLength: ctx.config.limits.jsonStringLength,
  };
  const queueRecompute = recomputeQueuer(ctx.queue);
  const sboms = createFindingsService({
    db: ctx.db,
    blobs: ctx.blobs,
    timeline: ctx.timeline,
    clock: ctx.clock,
    maxSbomBytes: ctx.config.findings.maxSbomBytes,
    jsonLimits,
    onIngested: async (tenant, subjectKey) => {
      await queueRecompute(tenant, subjectKey);
    },
  });
  const scans = createScanService({
    db: ctx.db,
    advisories: options.advisories,
    reachability: options.reachability,
    vex: options.vex,
    sboms,
    jsonLimits,
  });
  const store = createFindingStore({ db: ctx.db, timeline: ctx.timeline, clock: ctx.clock, scans, evaluatorFor });
  const snapshots = createSnapshotService({
    db: ctx.db,
    timeline: ctx.timeline,
    clock: ctx.clock,
    signing: createSigningKeyStore(ctx.db),
  });
  state = { sboms, scans, store, snapshots, queueRecompute };
  rooms.set(ctx, state);
  return state;
}

/** The findings room's migrations, for tests that build a database without the whole module. */
export const findingsMigrations = {
  name: 'findings',
  migrations: new URL('../migrations/', import.meta.url),
  dependsOn: ['platform'],
} as const satisfies Module;

export function createFindingsModule(options: FindingsModuleOptions): Module {
  return {
    ...findingsMigrations,
    config: findingsConfig,
    blobReferences: { namespaces: [SBOM_NAMESPACE], uris: sbomBlobUris },
    async start(ctx) {
      // Defined in every target: the API queues recomputes that workers run.
      await ctx.queue.define(RECOMPUTE_QUEUE, { concurrencyKeyLimit: 1, policy: 'stately' });
    },
    routes(app, ctx) {
      const state = room(ctx, options);
      registerSbomRoutes(app, state.sboms, ctx.config.findings.maxSbomBytes);
      registerScanRoutes(app, state.scans, ctx.config.findings.maxSbomBytes);
      registerFindingRoutes(app, state.store, state.queueRecompute);
      registerPolicyRoutes(app, state.snapshots, async (tenant) => {
        await state.queueRecompute(tenant);
      });
    },
    async jobs(queue, ctx) {
      const state = room(ctx, options);
      await queue.work<{ tenant: string; subjectKey?: string }>(RECOMPUTE_QUEUE, async (job) =>
        job.data.subjectKey
          ? state.store.recomputeSubject(job.data.tenant, job.data.subjectKey)
          : state.store.recomputeTenant(job.data.tenant),
      );
      for (const topic of options.recomputeOn ?? [])
        ctx.outbox.subscribe(topic, async ({ tenant, payload }) => {
          const subject = (payload as { subject_key?: unknown } | null)?.subject_key;
          await state.queueRecompute(tenant, typeof subject === 'string' ? subject : undefined);
        });
    },
    commands(program, cli) {
      registerVersionsCommands(program, cli);
      registerSbomCommands(program, cli);
      registerScanCommand(program, cli);
      registerPolicyCommands(program, cli);
      registerFindingsCommands(program, cli);
    },
  };
}
