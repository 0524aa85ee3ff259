// Scaled-out backend: PostgreSQL 15+ through a `pg` pool. The URL names a non-superuser role, so the
// FORCE ROW LEVEL SECURITY policies apply to everything the application does.
import pg from 'pg';
import { CAPABILITIES, type Db, type Queryable, type QueryResult, type TransactionOptions, type Tx } from './port.ts';

export interface PostgresOptions {
  url: string;
  poolSize: number;
}

export async function openPostgres(options: PostgresOptions): Promise<Db> {
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize });
  // An idle client that loses its server emits 'error' on the pool; without a listener that kills the process.
  pool.on('error', () => {});
  const first = await pool.connect();
  try {
    const who = await first.query<{ super: boolean; version: number }>(
      `select rolsuper as super, current_setting('server_version_num')::int as version from pg_roles where rolname = current_user`,
    );
    const row = who.rows[0]!;
    if (row.version < 150000) {
      throw new Error(`PostgreSQL 15 or newer is required (server reports ${row.version})`);
    }
    if (row.super) {
      throw new Error(
        'STELLA_DATABASE_URL connects as a superuser, which bypasses row-level security; create a non-superuser role (see README "Scale-out") and connect as it',
      );
    }
  } finally {
    first.release();
  }

  const root: Queryable = {
    async query<T>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
      const result = await pool.query(text, params as unknown[] | undefined);
      return { rows: result.rows as T[], rowCount: result.rowCount ?? result.rows.length };
    },
  };

  return {
    backend: 'postgres',
    capabilities: CAPABILITIES.postgres,
    query: root.query,
    async transaction<T>(fn: (tx: Tx) => Promise<T>, txOptions: TransactionOptions = {}): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('begin');
        if (txOptions.tenant !== undefined) {
          await client.query(`select set_config('app.tenant', $1, true)`, [txOptions.tenant]);
        }
        const tx: Tx = {
          async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
            const result = await client.query(text, params as unknown[] | undefined);
            return { rows: result.rows as R[], rowCount: result.rowCount ?? result.rows.length };
          },
          async exec(sql: string) {
            await client.query(sql);
          },
        };
        const value = await fn(tx);
        await client.query('commit');
        return value;
      } catch (error) {
        await client.query('rollback').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    queueAdapter() {
      return {
        async executeSql(text: string, values?: unknown[]) {
          return pool.query(text, values);
        },
      };
    },
    async ping() {
      await pool.query('select 1');
    },
    async close() {
      await pool.end();
    },
  };
}
