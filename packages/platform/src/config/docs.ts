// Renders docs/config.md from the schema so the documentation cannot drift from the loader.
import { configKeys } from './load.ts';

export function renderConfigDocs(): string {
  const rows = configKeys().map(({ path, env, schema }) => {
    const def = schema.default === undefined ? '' : JSON.stringify(schema.default);
    const envCell = schema.type === 'array' || path === 'rateLimiting' ? '(file only)' : `\`${env}\``;
    return `| \`${path}\` | ${envCell} | \`${def}\` | ${String(schema.description ?? '').replaceAll('|', '\\|')} |`;
  });
  return [
    '# Configuration',
    '',
    'Generated from `packages/platform/src/config/schema.ts` by `npm run gen:docs`; a test fails when it is stale.',
    '',
    'Precedence: command-line flags > environment > `stella.yaml` (path from `--config`, else `$STELLA_HOME/stella.yaml`) > defaults.',
    'The configuration is validated once at start-up; an invalid value stops start-up with a message naming the key.',
    'In `stella.yaml` keys are nested (`server: {port: 8440}`); the router rate-limit block keeps the spec spelling `rate_limiting:`.',
    '',
    '| key | environment | default | meaning |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
