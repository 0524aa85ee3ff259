// Database access: the Db port, its two backends, and the migration runner.
import { join } from 'node:path';
import type { Config } from '../config/index.ts';
import { openPglite } from './pglite.ts';
import type { Db } from './port.ts';
import { openPostgres } from './postgres.ts';

export { copyTextRow, textArrayLiteral } from './copy-text.ts';
export type { Migration, MigrationReport, MigrationSet } from './migrate.ts';
export { migrate, orderModules, readMigrations } from './migrate.ts';
export { openPglite } from './pglite.ts';
export type { Backend, BackendCapabilities, Db, Queryable, QueryResult, TransactionOptions, Tx } from './port.ts';
export { CAPABILITIES } from './port.ts';
export { openPostgres } from './postgres.ts';
export type { Work, WorkTracker } from './work.ts';
export { createWorkTracker, currentWork, describeWork, runInWork, throwIfCancelled } from './work.ts';

/** Opens the configured database: PostgreSQL when database.url is set, else PGlite under $STELLA_HOME/pg. */
export function openDatabase(config: Config): Promise<Db> {
  if (config.database.url) return openPostgres({ url: config.database.url, poolSize: config.database.poolSize });
  return openPglite({ dataDir: join(config.home, 'pg'), appRole: config.database.appRole });
}
