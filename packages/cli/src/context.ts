// What every command of this build receives: the io, the global options, and the configuration and
// schema of all the rooms the server is made of (so `stella config show`, the offline ingest and
// the server's own start-up read the same sections and create the same tables).
import { type CliCtx, type CliIo, type GlobalOptions, type LoadedConfig, migrateModules } from '@stella/platform';
import { configSections, loadServerConfig, modules } from '@stella/server';

/** The configuration `stella serve` would load from this environment and config file (no flags). */
export function loadEffectiveConfig(env: CliIo['env'], file: string | undefined): LoadedConfig {
  return loadServerConfig({ env, ...(file ? { file } : {}) });
}

export function createCliCtx(io: CliIo, globals: () => GlobalOptions): CliCtx {
  return {
    io,
    globals,
    loadConfig: () => loadEffectiveConfig(io.env, globals().config),
    configSections,
    migrate: (db) => migrateModules(db, modules),
  };
}
