// SPDX-License-Identifier: Apache-2.0
// The findings room as a module of the server: SBOM storage and scanning, their routes and
// `stella sbom`/`stella scan`, and the ecosystem version comparators with `stella versions`.
// Advisories come through a port the server wires to the AOC room's door.
import type { Ctx, Module } from '@stella/platform';
import { registerPolicyCommands } from './commands/policy.ts';
import { registerSbomCommands } from './commands/sbom.ts';
import { registerScanCommand } from './commands/scan.ts';
import { registerVersionsCommands } from './commands/versions.ts';
import { findingsConfig } from './config.ts';
import type { ReachabilitySource } from './evidence/reachability.ts';
import { registerSbomRoutes } from './routes/sboms.ts';
import { registerScanRoutes } from './routes/scan.ts';
import type { AdvisorySource } from './scan/advisories.ts';
import { createScanService, type ScanService } from './scan/service.ts';
import { createFindingsService, type FindingsService } from './service.ts';

/** What the server gives the findings room: the doors of the advisory store (AOC) and of Signals. */
export interface FindingsModuleOptions {
  advisories: AdvisorySource;
  reachability: ReachabilitySource;
}

interface RoomState {
  sboms: FindingsService;
  scans: ScanService;
}

const rooms = new WeakMap<Ctx, RoomState>();

function room(ctx: Ctx, options: FindingsModuleOptions): RoomState {
  let state = rooms.get(ctx);
  if (!state) {
    const jsonLimits = {
      maxDepth: ctx.config.limits.jsonDepth,
      maxKeys: ctx.config.limits.jsonKeys,
      maxStringLength: ctx.config.limits.jsonStringLength,
    };
    const sboms = createFindingsService({
      db: ctx.db,
      blobs: ctx.blobs,
      timeline: ctx.timeline,
      clock: ctx.clock,
      maxSbomBytes: ctx.config.findings.maxSbomBytes,
      jsonLimits,
    });
    const scans = createScanService({
      db: ctx.db,
      advisories: options.advisories,
      reachability: options.reachability,
      sboms,
      jsonLimits,
    });
    state = { sboms, scans };
    rooms.set(ctx, state);
  }
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
    routes(app, ctx) {
      const { sboms, scans } = room(ctx, options);
      registerSbomRoutes(app, sboms, ctx.config.findings.maxSbomBytes);
      registerScanRoutes(app, scans, ctx.config.findings.maxSbomBytes);
    },
    commands(program, cli) {
      registerVersionsCommands(program, cli);
      registerSbomCommands(program, cli);
      registerScanCommand(program, cli);
      registerPolicyCommands(program, cli);
    },
  };
}
