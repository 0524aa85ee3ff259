// `stella auth`: tokens for scripts, key rotation, and hashing secrets for config-file clients.

import { type CliCtx, createApiClient, printResult } from '@stella/platform';
import type { Command } from 'commander';
import { hashSecret } from './secrets.ts';

export function registerAuthCommands(program: Command, { io, globals }: CliCtx): void {
  const auth = program.command('auth').description('Tokens and signing keys');

  auth
    .command('token')
    .description('Print an access token (client credentials from flags, env or $STELLA_HOME/credentials.json)')
    .option('--scope <scopes>', 'space-separated scopes (default: all of the client)')
    .action(async (flags: { scope?: string }) => {
      const opts = globals();
      const token = await createApiClient(io, { ...opts, token: undefined }).token(flags.scope);
      printResult(io, opts, { access_token: token, token_type: 'Bearer' }, () => token);
    });

  auth
    .command('rotate-keys')
    .description('Make a new signing key active; old keys stay in the JWKS until their tokens expired')
    .action(async () => {
      const opts = globals();
      const result = await createApiClient(io, opts).json<{ activeKid: string; retiredKids: string[] }>(
        'POST',
        '/api/v1/authority/keys/rotate',
        { scope: 'authority:admin' },
      );
      printResult(
        io,
        opts,
        result,
        () => `active key ${result.activeKid}; retired: ${result.retiredKids.join(', ') || 'none'}`,
      );
    });

  auth
    .command('hash-secret')
    .description('Read a client secret on stdin and print its scrypt hash for auth.clients[].secretHash')
    .action(async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      const secret = Buffer.concat(chunks)
        .toString('utf8')
        .replace(/\r?\n$/, '');
      if (!secret) throw new Error('no secret on stdin');
      io.stdout.write(`${await hashSecret(secret)}\n`);
    });
}
