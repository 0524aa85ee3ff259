// `stella config show|docs`: the effective configuration (secrets redacted) and its reference.
import type { Command } from 'commander';
import type { CliCtx } from '../cli/index.ts';
import { renderConfigDocs } from './docs.ts';
import { loadConfig } from './load.ts';

const SECRET_KEYS = /secret|password|token/i;

export function registerConfigCommands(program: Command, { io, globals }: CliCtx): void {
  const config = program.command('config').description('Configuration');
  config
    .command('show')
    .description('Print the effective configuration (env > stella.yaml > defaults), secrets redacted')
    .action(() => {
      const { config: effective, sources, file } = loadConfig({ env: io.env, file: globals().config });
      const redacted = JSON.parse(
        JSON.stringify(effective, (key, value) =>
          SECRET_KEYS.test(key) && typeof value === 'string' && value ? '[redacted]' : value,
        ),
      );
      io.stdout.write(`${JSON.stringify({ file: file ?? null, sources, config: redacted }, null, 2)}\n`);
    });
  config
    .command('docs')
    .description('Print the configuration reference (docs/config.md)')
    .action(() => {
      io.stdout.write(renderConfigDocs());
    });
}
