// Generated operator docs: the error registry (docs/errors.md) and the OpenAPI document. Both are
// committed and a test fails when they are stale.
import { errorDefinitions } from '@stella/core';

export function renderErrorsDoc(): string {
  const rows = errorDefinitions().map(
    (d) => `| \`${d.code}\` | ${d.status} | ${d.exit} | ${d.title} | ${d.hint.replaceAll('|', '\\|')} |`,
  );
  return [
    '# Error codes',
    '',
    'Generated from the error registry (`defineError` calls in each room) by `npm run gen:docs`; a test fails when it is stale.',
    'HTTP errors are `application/problem+json` documents with `type`, `title`, `status`, `code`, `detail` (also as `message`),',
    '`instance`, `requestId`, `traceId` and `timestamp`. Codes are stable and never reused.',
    '',
    'OAuth2 token endpoint errors follow RFC 6749 §5.2 instead (`{"error": "invalid_client", "error_description": ...}`),',
    'and router rate-limit denials use the spec body `{"error": "rate_limit_exceeded", ...}` with `Retry-After`.',
    '',
    '## CLI exit codes',
    '',
    '| exit | meaning |',
    '|---|---|',
    '| 0 | ok |',
    '| 1 | failure |',
    '| 2 | usage error or invalid input |',
    '| 3 | verification failed (signature, hash chain, digest) |',
    '| 4 | not found |',
    '| 5 | offline violation (a verification path needed the network) |',
    '| 11–17 | AOC guard violations ERR_AOC_001…007 |',
    '| 70 | transport error (server unreachable or 5xx) |',
    '| 71 | authentication or scope error |',
    '',
    '## Codes',
    '',
    '| code | HTTP | exit | title | what to do |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

/** Every generated doc, keyed by its path under the repository root. */
export async function generateDocs(): Promise<Record<string, string>> {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { loadConfig, renderConfigDocs } = await import('@stella/platform');
  const { startServer } = await import('./serve.ts');
  const home = mkdtempSync(join(tmpdir(), 'stella-docs-'));
  const { config } = loadConfig({ env: { STELLA_HOME: home, STELLA_SERVER_PORT: '0', STELLA_LOG_LEVEL: 'silent' } });
  const server = await startServer({ config });
  try {
    const openapi = server.app.swagger() as { servers?: unknown };
    delete openapi.servers;
    return {
      'docs/openapi.json': `${JSON.stringify(openapi, null, 2)}\n`,
      'docs/errors.md': renderErrorsDoc(),
      'docs/config.md': renderConfigDocs(),
    };
  } finally {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  }
}
