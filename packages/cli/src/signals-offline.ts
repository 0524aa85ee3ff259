#!/usr/bin/env -S node --disable-proto=delete
// `signals-offline ingest-runtime …` exactly as seed 000 writes it: the air-gap runtime ingest without
// the rest of the `stella` command (same code as `stella signals-offline ingest-runtime`). It lives
// with the `stella` command because it needs the whole build: every room's config section and schema.
import { ExitCode, StellaError } from '@stella/core';
import { type CliCtx, CliError, exitCodeOf, type GlobalOptions } from '@stella/platform';
import { signalsAdvisories } from '@stella/server';
import { addOfflineIngestCommand } from '@stella/signals';
import { Command, CommanderError, Option } from 'commander';
import { createCliCtx } from './context.ts';

export async function runSignalsOffline(io: CliCtx['io']): Promise<number> {
  const program = new Command('signals-offline')
    .description('Air-gap runtime ingest: verify a bundle and import it into the local database and CAS')
    .addOption(new Option('--config <path>', 'config file (env STELLA_CONFIG)').default(io.env.STELLA_CONFIG))
    .addOption(new Option('--json', 'machine-readable receipt on stdout').default(io.env.STELLA_JSON === 'true'))
    .addOption(new Option('-q, --quiet', 'no notes on stderr').default(false))
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  const globals = (): GlobalOptions => {
    const opts = program.opts<{ config?: string; json: boolean; quiet: boolean }>();
    return {
      server: '',
      tenant: io.env.STELLA_TENANT ?? 'default',
      json: opts.json,
      quiet: opts.quiet,
      ...(opts.config ? { config: opts.config } : {}),
    };
  };
  const sub = addOfflineIngestCommand(program, createCliCtx(io, globals), signalsAdvisories);
  sub.exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  try {
    await program.parseAsync(io.argv, { from: 'user' });
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(error.code)
        ? ExitCode.ok
        : ExitCode.usage;
    }
    const code = error instanceof CliError || error instanceof StellaError ? error.code : 'ERR_CLI';
    io.stderr.write(`signals-offline: ${code === 'ERR_CLI' ? '' : `${code}: `}${(error as Error).message}\n`);
    return exitCodeOf(error);
  }
}

if (import.meta.main) {
  process.exitCode = await runSignalsOffline({
    argv: process.argv.slice(2),
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
  });
}
