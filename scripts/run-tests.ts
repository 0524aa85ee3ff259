// Runs every package's tests once per database backend (`--db pglite --db postgres`). Each leg runs
// even when an earlier one failed, so one failure never hides the other backend; the summary at the
// end names both and the exit code is non-zero when either failed. For PostgreSQL a throwaway
// cluster from the Debian binaries is started first and its URLs are handed to the test processes.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startPostgres } from '@stella/testkit';

const { values, positionals } = parseArgs({
  options: { db: { type: 'string', multiple: true, default: ['pglite'] } },
  allowPositionals: true,
});
const backends = values.db;
for (const backend of backends) {
  if (backend !== 'pglite' && backend !== 'postgres') {
    console.error(`--db must be pglite or postgres, not ${backend}`);
    process.exit(2);
  }
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

interface LegResult {
  backend: string;
  code: number;
  /** node's closing figures (`ℹ tests 374` …), as printed. */
  counts: Record<string, string>;
}

async function runLeg(backend: string): Promise<LegResult> {
  const env: Record<string, string | undefined> = { ...process.env, STELLA_TEST_DB: backend };
  let cluster: Awaited<ReturnType<typeof startPostgres>> | undefined;
  if (backend === 'postgres') {
    try {
      cluster = await startPostgres();
    } catch (error) {
      console.error(`PostgreSQL did not start: ${(error as Error).message}`);
      return { backend, code: 1, counts: {} };
    }
    env.STELLA_TEST_PG_ADMIN_URL = cluster.adminUrl;
    env.STELLA_TEST_PG_APP_URL = cluster.appUrl('postgres');
  }
  console.error(`\n== stella tests on ${backend}: ${files.length} files ==`);
  const counts: Record<string, string> = {};
  const code = await new Promise<number>((resolve) => {
    // Not --test-force-exit: it exits each file's process before the process has flushed its results
    // to the runner, so tests silently go uncounted (seen: 40 to 59 of 59 tests reported). A file that
    // could hang on a half-started server stops what it started in after() instead.
    const child = spawn(
      process.execPath,
      ['--disable-proto=delete', '--test', '--test-concurrency=2', '--test-timeout=120000', ...files],
      { stdio: ['ignore', 'pipe', 'inherit'], env },
    );
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const figure = /^ℹ (tests|pass|fail|cancelled|skipped) (\d+)$/.exec(line);
        if (figure) counts[figure[1]!] = figure[2]!;
      }
    });
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
  await cluster?.stop();
  console.error(`== ${backend} leg finished with exit code ${code} ==`);
  return { backend, code, counts };
}

const results: LegResult[] = [];
for (const backend of backends) results.push(await runLeg(backend));

if (results.length > 1) {
  console.error('\n== summary ==');
  for (const r of results) {
    const figures = ['tests', 'pass', 'fail', 'cancelled', 'skipped'].map((k) => `${k} ${r.counts[k] ?? '?'}`);
    console.error(`${r.backend.padEnd(9)} ${r.code === 0 ? 'ok    ' : 'FAILED'} ${figures.join(', ')}`);
  }
}
process.exit(results.some((r) => r.code !== 0) ? 1 : 0);
