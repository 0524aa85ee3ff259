// One fresh database per test: in-memory PGlite, or a new database on the PostgreSQL cluster that
// scripts/run-tests.ts started (STELLA_TEST_DB=postgres). Both connect as the non-superuser app role.
import { randomBytes } from 'node:crypto';
import { type Db, openPglite, openPostgres } from '@stella/platform';
import { APP_ROLE, createDatabase } from './postgres.ts';

export type TestBackend = 'pglite' | 'postgres';

export function testBackend(): TestBackend {
  return process.env.STELLA_TEST_DB === 'postgres' ? 'postgres' : 'pglite';
}

export interface TestDb {
  db: Db;
  /** A URL other processes can use (PostgreSQL only). */
  url: string | undefined;
  /** Opens a second, independent connection to the same database (PostgreSQL only). */
  reopen(): Promise<Db>;
  close(): Promise<void>;
}

export async function testDb(): Promise<TestDb> {
  if (testBackend() === 'pglite') {
    const db = await openPglite({ appRole: APP_ROLE });
    return {
      db,
      url: undefined,
      reopen: () => Promise.reject(new Error('PGlite in-process cannot be opened twice')),
      close: () => db.close(),
    };
  }
  const adminUrl = process.env.STELLA_TEST_PG_ADMIN_URL;
  const appBase = process.env.STELLA_TEST_PG_APP_URL;
  if (!adminUrl || !appBase) {
    throw new Error('STELLA_TEST_DB=postgres needs the cluster from scripts/run-tests.ts (npm run test:postgres)');
  }
  const name = `t_${randomBytes(6).toString('hex')}`;
  const created = await createDatabase(adminUrl, (n) => appBase.replace(/\/[^/]*$/, `/${n}`), name);
  const opened: Db[] = [];
  const open = async () => {
    const db = await openPostgres({ url: created.url, poolSize: 10 });
    opened.push(db);
    return db;
  };
  const db = await open();
  return {
    db,
    url: created.url,
    reopen: open,
    async close() {
      for (const d of opened) await d.close().catch(() => {});
      await created.drop();
    },
  };
}
