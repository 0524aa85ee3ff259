// `stella keys list|rotate --purpose <p>`: the tenant's signing keys (global --tenant) and their rotation.
import type { Command } from 'commander';
import { type CliCtx, createApiClient, printResult } from '../cli/index.ts';
import type { PublicSigningKey } from './store.ts';

const row = (k: PublicSigningKey) =>
  `${k.purpose.padEnd(18)} ${k.algorithm.padEnd(11)} ${k.status.padEnd(8)} ${k.createdAt}  ${k.keyid}`;

export function registerKeyCommands(program: Command, { io, globals }: CliCtx): void {
  const keys = program
    .command('keys')
    .description("The tenant's signing keys (export bundles, Signals envelopes, policy snapshots)");
  keys
    .command('list')
    .description('Every key with its purpose, algorithm and status; retired keys still verify what they signed')
    .option(
      '--purpose <purpose>',
      'only this purpose (export-center, signals-graph, signals-runtime, policy-snapshot, timeline)',
    )
    .action(async (flags: { purpose?: string }) => {
      const opts = globals();
      const result = await createApiClient(io, opts).json<{ keys: PublicSigningKey[] }>('GET', '/api/v1/keys', {
        scope: 'evidence:read',
      });
      const shown = { keys: result.keys.filter((k) => !flags.purpose || k.purpose === flags.purpose) };
      printResult(io, opts, shown, () => shown.keys.map(row).join('\n') || 'no keys yet: each is made on first use');
    });
  keys
    .command('rotate')
    .description('Retire the active key of a purpose and sign with a new one from now on')
    .requiredOption(
      '--purpose <purpose>',
      'export-center, signals-graph, signals-runtime, policy-snapshot, timeline, …',
    )
    .action(async (flags: { purpose: string }) => {
      const opts = globals();
      const result = await createApiClient(io, opts).json<{ active: PublicSigningKey[]; retired: string[] }>(
        'POST',
        '/api/v1/keys/rotate',
        { scope: 'authority:admin', body: { purpose: flags.purpose } },
      );
      printResult(io, opts, result, () =>
        [...result.active.map((k) => `active  ${row(k)}`), ...result.retired.map((id) => `retired ${id}`)].join('\n'),
      );
    });
}
