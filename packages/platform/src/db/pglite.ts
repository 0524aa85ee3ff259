// Embedded backend: PGlite in this process, data in $STELLA_HOME/pg. PGlite's default user is a
// superuser, which bypasses row-level security, so the session switches to a non-superuser role.
import { mkdirSync } from 'node:fs';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { CAPABILITIES, type Db, type Queryable, type QueryResult, type TransactionOptions, type Tx } from './port.ts';

export interface PgliteOptions {
  /** Directory for the data; undefined keeps the database in memory (tests). */
  dataDir?: string;
  appRole: string;
}

export async function openPglite(options: PgliteOptions): Promise<Db> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const pg = await PGlite.create(options.dataDir ? { dataDir: options.dataDir } : {});
  await switchToAppRole(pg, options.appRole);
  const root = queryable(pg);

  return {
    backend: 'pglite',
    capabilities: CAPABILITIES.pglite,
    query: root.query,
    transaction<T>(fn: (tx: Tx) => Promise<T>, txOptions: TransactionOptions = {}): Promise<T> {
      return pg.transaction(async (transaction) => {
        if (txOptions.tenant !== undefined) {
          await transaction.query(`select set_config('app.tenant', $1, true)`, [txOptions.tenant]);
        }
        return fn(txHandle(transaction));
      });
    },
    queueAdapter() {
      return {
        async executeSql(text: string, values?: unknown[]) {
          try {
            if (values?.length) return await pg.query(text, values);
            // pg-boss sends parameterless multi-statement blocks; only exec() accepts those.
            const results = await pg.exec(text);
            return { rows: results.flatMap((r) => r.rows ?? []) };
          } catch (error) {
            // A statement failing inside one of those BEGIN … COMMIT blocks leaves the only connection
            // in an aborted transaction and every later query would fail; a pool would drop the
            // connection, here we roll back.
            await pg.exec('rollback').catch(() => {});
            throw error;
          }
        },
      };
    },
    async ping() {
      await pg.query('select 1');
    },
    async close() {
      if (!pg.closed) await pg.close();
    },
  };
}

function queryable(target: Pick<PGlite, 'query'> | Transaction): Queryable {
  return {
    async query<T>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
      const result = await target.query<T>(text, params as unknown[] | undefined);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
  };
}

function txHandle(transaction: Transaction): Tx {
  return {
    ...queryable(transaction),
    async exec(sql: string) {
      await transaction.exec(sql);
    },
  };
}

async function switchToAppRole(pg: PGlite, role: string): Promise<void> {
  const exists = await pg.query<{ n: number }>('select count(*)::int as n from pg_roles where rolname = $1', [role]);
  if (exists.rows[0]?.n === 0) await pg.exec(`create role ${role} nosuperuser nobypassrls nologin`);
  // PostgreSQL 15+ no longer lets every role create objects in schema public; pg-boss creates its own schema.
  const dbName = (await pg.query<{ d: string }>('select current_database() as d')).rows[0]!.d;
  await pg.exec(`grant all on schema public to ${role}; grant create on database "${dbName}" to ${role};`);
  await pg.exec(`set role ${role}`);
}
