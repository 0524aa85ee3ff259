// What the benchmarks share: an in-process server on loopback, quiet, in a throwaway home, and the
// bootstrap admin's token.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServerConfig, type RunningServer, startServer } from '@stella/server';

function benchServerEnv(home: string, databaseUrl?: string): Record<string, string> {
  return {
    STELLA_HOME: home,
    STELLA_SERVER_HOST: '127.0.0.1',
    STELLA_SERVER_PORT: '0',
    // STELLA_BENCH_LOG=info shows the server's own logs (an export run logs its phases).
    STELLA_LOG_LEVEL: process.env.STELLA_BENCH_LOG ?? 'silent',
    STELLA_SERVER_DOCS_UI: 'false',
    ...(databaseUrl ? { STELLA_DATABASE_URL: databaseUrl } : {}),
  };
}

/** Runs `fn` against a fresh server (PGlite, or PostgreSQL at `databaseUrl`) and removes its home after. */
export async function withBenchServer<T>(
  name: string,
  databaseUrl: string | undefined,
  fn: (server: RunningServer, home: string) => Promise<T>,
): Promise<T> {
  const home = mkdtempSync(join(tmpdir(), `stella-bench-${name}-`));
  try {
    const server = await startServer({ config: loadServerConfig({ env: benchServerEnv(home, databaseUrl) }).config });
    try {
      return await fn(server, home);
    } finally {
      await server.close();
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** A token for the bootstrap `stella-admin` client from the server's credentials file. */
export async function adminToken(server: RunningServer, home: string): Promise<string> {
  const creds = JSON.parse(readFileSync(join(home, 'credentials.json'), 'utf8'));
  const admin = creds.clients['stella-admin'] as { clientId: string; clientSecret: string };
  const res = await fetch(`${server.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: admin.clientId,
      client_secret: admin.clientSecret,
    }),
  });
  if (!res.ok) throw new Error(`token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}
