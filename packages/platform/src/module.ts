// The contract between the server and each room: migrations, routes, jobs and start-up work.
import type { Clock } from '@stella/core';
import type { Command } from 'commander';
import type { Registry } from 'prom-client';
import type { BlobReferences, CasMaintenance, TenantBlobs } from './blob/index.ts';
import type { CliCtx } from './cli/index.ts';
import type { Config, ConfigSection } from './config/index.ts';
import { type Db, type MigrationReport, migrate } from './db/index.ts';
import type { HttpApp, Readiness } from './http/app.ts';
import type { Logger } from './http/logger.ts';
import type { JobQueue } from './queue/index.ts';
import type { OutboxDispatcher, Timeline } from './timeline/index.ts';

export interface Ctx {
  config: Config;
  db: Db;
  /** The CAS, one view per tenant: rooms store and read under the tenant they act for. */
  blobs: TenantBlobs;
  /** Cross-tenant CAS upkeep (layout move, collection of unreferenced objects): the platform's jobs only. */
  cas: CasMaintenance;
  queue: JobQueue;
  timeline: Timeline;
  outbox: OutboxDispatcher;
  metrics: Registry;
  logger: Logger;
  clock: Clock;
  readiness: Readiness;
  /** Base URL this server is reachable at (token issuer). */
  publicUrl: () => string;
}

export interface Module {
  name: string;
  /** Folder of NNNN_name.sql files owned by this module. */
  migrations?: URL;
  /** The room's configuration section (its own `src/config.ts`), loaded by the one loader. */
  config?: ConfigSection;
  /** Migration and start order. */
  dependsOn?: readonly string[];
  /** Runs after migrations in every target (bootstrap data, key checks). */
  start?(ctx: Ctx): Promise<void>;
  routes?(app: HttpApp, ctx: Ctx): void | Promise<void>;
  /** Workers and crons; mounted by the worker and all targets. */
  jobs?(queue: JobQueue, ctx: Ctx): Promise<void>;
  /**
   * What the room's rows reference in the CAS. Every room that stores CAS URIs in its tables declares
   * them, or the collector removes its objects; see blob/maintenance.ts.
   */
  blobReferences?: BlobReferences;
  /** The room's `stella` verbs; they run in the CLI process and reach the server over HTTP. */
  commands?(program: Command, cli: CliCtx): void;
}

/** The configuration sections of the given modules, for loadConfig and the config reference. */
export function configSectionsOf(modules: readonly Module[]): ConfigSection[] {
  return modules.flatMap((m) => (m.config ? [m.config] : []));
}

/** Applies the migrations of every module that has some, in dependency order (its dependsOn). */
export function migrateModules(db: Db, modules: readonly Module[]): Promise<MigrationReport> {
  return migrate(
    db,
    modules.flatMap((m) =>
      m.migrations ? [{ module: m.name, migrations: m.migrations, dependsOn: m.dependsOn }] : [],
    ),
  );
}
