// `stella auth`: tokens for scripts, key rotation, and hashing secrets for config-file clients.
// `stella users`: console users and their roles per tenant.

import { readFile, rename, writeFile } from 'node:fs/promises';
import { durationSeconds, Errors, StellaError } from '@stella/core';
import {
  type CliCtx,
  CliError,
  type CliIo,
  createApiClient,
  credentialsPath,
  type GlobalOptions,
  printResult,
} from '@stella/platform';
import type { Command } from 'commander';
import { hashSecret } from './secrets.ts';
import { ROLES } from './users.ts';

interface UserView {
  name: string;
  disabled: boolean;
  roles: Record<string, string>;
  password?: string;
}

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

  const clients = auth.command('clients').description('OAuth2 clients');
  clients
    .command('rotate-secret')
    .description(
      'Give a client a new secret, printed once; the old one keeps working for --overlap. The local credentials file ($STELLA_HOME/credentials.json) is updated when it holds the client',
    )
    .argument('<clientId>', 'e.g. stella-aoc-verify')
    .option('--overlap <duration>', 'how long the old secret keeps working: 30m, 24h, 7d … (0s: not at all)', '24h')
    .action(async (clientId: string, flags: { overlap: string }) => {
      const opts = globals();
      const overlapSeconds = durationSeconds(flags.overlap);
      if (overlapSeconds === undefined) {
        throw new CliError(Errors.usage, `--overlap ${flags.overlap}: give a duration such as 24h, 7d or 0s`);
      }
      const rotated = await createApiClient(io, { ...opts, tenant: '' }).json<{
        clientId: string;
        clientSecret: string;
        previousSecretExpiresAt: string;
      }>('POST', `/api/v1/authority/clients/${encodeURIComponent(clientId)}/rotate-secret`, {
        scope: 'authority:admin',
        body: { overlapSeconds },
      });
      const file = await updateLocalCredentials(io, rotated.clientId, rotated.clientSecret);
      printResult(io, opts, { ...rotated, credentialsFile: file ?? null }, () =>
        [
          `client ${rotated.clientId}: new secret ${rotated.clientSecret}`,
          `the previous secret works until ${rotated.previousSecretExpiresAt}`,
          file ? `updated ${file}` : 'hand the new secret to the client before then',
        ].join('\n'),
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

interface TenantView {
  id: string;
  displayName: string;
  disabled: boolean;
}

interface ClientView {
  clientId: string;
  scopes: string[];
  source: string;
  disabled: boolean;
  clientSecret?: string;
}

/** `stella tenants`: the platform administrator's verbs (scope tenant:admin, over /admin/tenants). */
export function registerTenantCommands(program: Command, { io, globals }: CliCtx): void {
  const tenants = program
    .command('tenants')
    .description('Create, list, disable and enable tenants and their clients (needs tenant:admin)');
  const api = (opts: GlobalOptions) => createApiClient(io, { ...opts, tenant: '' });
  const call = <T>(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown) =>
    api(globals()).json<T>(method, path, { scope: 'tenant:admin', ...(body === undefined ? {} : { body }) });
  const line = (t: TenantView) => `${t.id}${t.disabled ? ' (disabled)' : ''}  ${t.displayName}`;
  const clientLine = (c: ClientView) =>
    `${c.clientId}${c.disabled ? ' (disabled)' : ''}  ${c.source}  ${c.scopes.join(' ')}${c.clientSecret ? `\nsecret: ${c.clientSecret}` : ''}`;
  const tenantPath = (id: string) => `/admin/tenants/${encodeURIComponent(id)}`;

  tenants
    .command('list')
    .description('Every tenant')
    .action(async () => {
      const result = await call<{ items: TenantView[] }>('GET', '/admin/tenants');
      printResult(io, globals(), result, () => result.items.map(line).join('\n'));
    });
  tenants
    .command('create')
    .argument('<id>', 'tenant id: lower-case letters, digits and inner hyphens')
    .option('--name <displayName>', 'display name (default: the id)')
    .description('Create a tenant')
    .action(async (id: string, flags: { name?: string }) => {
      const tenant = await call<TenantView>('POST', '/admin/tenants', {
        id,
        ...(flags.name ? { displayName: flags.name } : {}),
      });
      printResult(io, globals(), tenant, () => `created ${line(tenant)}`);
    });
  for (const [verb, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    tenants
      .command(verb)
      .argument('<id>', 'tenant id')
      .description(
        disabled
          ? 'Disable a tenant: its tokens are refused from the next request on and none are issued; its data stays'
          : 'Enable a disabled tenant again',
      )
      .action(async (id: string) => {
        const tenant = await call<TenantView>('PATCH', tenantPath(id), { disabled });
        printResult(io, globals(), tenant, () => line(tenant));
      });
  }
  const clients = tenants.command('clients').description("A tenant's OAuth2 clients");
  clients
    .command('list')
    .argument('<tenant>', 'tenant id')
    .action(async (tenant: string) => {
      const result = await call<{ items: ClientView[] }>('GET', `${tenantPath(tenant)}/clients`);
      printResult(io, globals(), result, () => result.items.map(clientLine).join('\n'));
    });
  clients
    .command('create')
    .argument('<tenant>', 'tenant id')
    .argument('<clientId>', 'new client id')
    .option('--scope <scopes>', 'space-separated scopes (default: every tenant scope)')
    .description('Create a client of the tenant; its secret is printed once')
    .action(async (tenant: string, clientId: string, flags: { scope?: string }) => {
      const scopes = flags.scope?.split(' ').filter(Boolean);
      const client = await call<ClientView>('POST', `${tenantPath(tenant)}/clients`, {
        clientId,
        ...(scopes ? { scopes } : {}),
      });
      printResult(io, globals(), client, () => clientLine(client));
    });
  for (const [verb, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    clients
      .command(verb)
      .argument('<tenant>', 'tenant id')
      .argument('<clientId>', 'client id')
      .description(disabled ? 'Disable a client: it gets no more tokens' : 'Enable a client again')
      .action(async (tenant: string, clientId: string) => {
        const client = await call<ClientView>(
          'PATCH',
          `${tenantPath(tenant)}/clients/${encodeURIComponent(clientId)}`,
          {
            disabled,
          },
        );
        printResult(io, globals(), client, () => clientLine(client));
      });
  }
}

const ROLE_HELP = `role in the tenant: ${ROLES.join('|')}`;

export function registerUserCommands(program: Command, { io, globals }: CliCtx): void {
  const users = program
    .command('users')
    .description('Console users and their roles per tenant (needs authority:admin)');
  // authority:admin is not a tenant's scope: the admin token is asked for without one, and the global
  // --tenant names the tenant the user is given a role in, as in `stella users create ann --tenant t`.
  const admin = (opts: GlobalOptions) => createApiClient(io, { ...opts, tenant: '' });
  const show = (opts: GlobalOptions, user: UserView) =>
    printResult(io, opts, user, () => {
      const roles = Object.entries(user.roles)
        .map(([t, r]) => `${t}=${r}`)
        .join(', ');
      const line = `${user.name}${user.disabled ? ' (disabled)' : ''}: ${roles || 'no tenant'}`;
      // A generated password is printed once, on stdout, for the operator to hand over.
      return user.password ? `${line}\npassword: ${user.password}` : line;
    });

  users
    .command('create <name>')
    .description(
      'Create a user with a role in the tenant of the global --tenant (must exist); the password is read from stdin with --password-stdin, else generated and printed once',
    )
    .requiredOption('--role <role>', ROLE_HELP)
    .option('--password-stdin', 'read the password from standard input (at least 12 characters)')
    .action(async (name: string, flags: { role: string; passwordStdin?: boolean }) => {
      const opts = globals();
      const password = flags.passwordStdin ? await readPassword(io) : undefined;
      const user = await admin(opts).json<UserView>('POST', '/api/v1/authority/users', {
        scope: 'authority:admin',
        body: { name, tenants: [{ tenant: opts.tenant, role: flags.role }], ...(password ? { password } : {}) },
      });
      show(opts, user);
    });

  users
    .command('grant <name>')
    .description('Give a user a role in the tenant of the global --tenant, or change the role they have there')
    .requiredOption('--role <role>', ROLE_HELP)
    .action(async (name: string, flags: { role: string }) => {
      const opts = globals();
      const user = await admin(opts).json<UserView>(
        'PUT',
        `/api/v1/authority/users/${encodeURIComponent(name)}/tenants`,
        {
          scope: 'authority:admin',
          body: { tenant: opts.tenant, role: flags.role },
        },
      );
      show(opts, user);
    });

  users
    .command('list')
    .description('List users with their roles')
    .action(async () => {
      const opts = globals();
      const { items } = await admin(opts).json<{ items: UserView[] }>('GET', '/api/v1/authority/users', {
        scope: 'authority:admin',
      });
      printResult(io, opts, { items }, () =>
        items
          .map(
            (u) =>
              `${u.name}${u.disabled ? ' (disabled)' : ''}: ${Object.entries(u.roles)
                .map(([t, r]) => `${t}=${r}`)
                .join(', ')}`,
          )
          .join('\n'),
      );
    });

  for (const [verb, description] of [
    ['disable', 'Disable a user: sign-in refused, their sessions end at once (issued tokens run out within minutes)'],
    ['enable', 'Enable a disabled user again'],
  ] as const) {
    users
      .command(`${verb} <name>`)
      .description(description)
      .action(async (name: string) => {
        const opts = globals();
        show(
          opts,
          await admin(opts).json<UserView>('POST', `/api/v1/authority/users/${encodeURIComponent(name)}/${verb}`, {
            scope: 'authority:admin',
          }),
        );
      });
  }

  users
    .command('set-password <name>')
    .description(
      "Set a user's password (from stdin with --password-stdin, else generated and printed once); their sessions end",
    )
    .option('--password-stdin', 'read the password from standard input')
    .action(async (name: string, flags: { passwordStdin?: boolean }) => {
      const opts = globals();
      const password = flags.passwordStdin ? await readPassword(io) : undefined;
      show(
        opts,
        await admin(opts).json<UserView>('PUT', `/api/v1/authority/users/${encodeURIComponent(name)}/password`, {
          scope: 'authority:admin',
          body: password ? { password } : {},
        }),
      );
    });
}

async function readPassword(io: CliIo): Promise<string> {
  if (!io.stdin) throw new StellaError(Errors.usage, '--password-stdin needs standard input');
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(Buffer.from(chunk as Buffer));
  const password = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (!password) throw new StellaError(Errors.usage, 'no password on standard input');
  return password;
}

/**
 * The new secret into $STELLA_HOME/credentials.json when it holds that client (the bootstrap's
 * stella-admin and stella-aoc-verify), so local commands keep working after the overlap; replaced
 * whole and kept 0600. Returns the file's path, or undefined when there was nothing to update.
 */
async function updateLocalCredentials(io: CliIo, clientId: string, clientSecret: string): Promise<string | undefined> {
  const path = credentialsPath(io.env);
  let file: { clients?: Record<string, { clientId: string; clientSecret: string }> };
  try {
    file = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
  const entry = Object.values(file.clients ?? {}).find((c) => c.clientId === clientId);
  if (!entry) return undefined;
  entry.clientSecret = clientSecret;
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: 'w' });
  await rename(temp, path);
  return path;
}
