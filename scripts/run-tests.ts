// Runs every package's tests on one database backend. For `--db postgres` it starts a throwaway
// PostgreSQL cluster from the Debian binaries first and hands its URLs to the test processes.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startPostgres } from '@stella/testkit';

const { values, positionals } = parseArgs({
  options: { db: { type: 'string', default: 'pglite' } },
  allowPositionals: true,
});
const backend = values.db;
if (backend !== 'pglite' && backend !== 'postgres') {
  console.error(`--db must be pglite or postgres, not ${backend}`);
  process.exit(2);
}

const files =
  positionals.length > 0
    ? positionals
    : readdirSync('packages', { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .flatMap((d) => listTests(join('packages', d.name, 'test')))
        .sort();

function listTests(dir: string): string[] {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) =>
    e.isDirectory() ? listTests(join(dir, e.name)) : e.name.endsWith('.test.ts') ? [join(dir, e.name)] : [],
  );
}

const env: Record<string, string | undefined> = { ...process.env, STELLA_TEST_DB: backend };
let cluster: Awaited<ReturnType<typeof startPostgres>> | undefined;
if (backend === 'postgres') {
  cluster = await startPostgres();
  env.STELLA_TEST_PG_ADMIN_URL = cluster.adminUrl;
  env.STELLA_TEST_PG_APP_URL = cluster.appUrl('postgres');
}

console.error(`\n== stella tests on ${backend}: ${files.length} files ==`);
const code = await new Promise<number>((resolve) => {
  const child = spawn(
    process.execPath,
    ['--disable-proto=delete', '--test', '--test-concurrency=2', '--test-timeout=120000', ...files],
    { stdio: 'inherit', env },
  );
  child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
});
await cluster?.stop();
console.error(`== ${backend} leg finished with exit code ${code} ==`);
process.exit(code);
