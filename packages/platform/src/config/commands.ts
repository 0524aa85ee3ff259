// `stella config show|docs`: the effective configuration (secrets redacted) and its reference.
import type { Command } from 'commander';
import type { CliCtx } from '../cli/index.ts';
import { renderConfigDocs } from './docs.ts';

export const REDACTED = '[redacted]';

/**
 * Keys whose whole value is a secret: passwords, secrets (secretAccessKey, secretHash), tokens, the
 * KEK, S3 access key ids and credentials of any kind. Matched on the key name anywhere in the tree, so a
 * free-form block (rate limiting) is covered too.
 */
const SECRET_KEY = /secret|password|passwd|token|credential|private|^kek$|accesskey|apikey|api_key/i;
/** `scheme://userinfo@`: the userinfo is everything up to the last @ before the host part ends. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#]*)@/gi;
/** Query parameters that carry credentials (libpq's password/sslpassword, presigned S3 URLs, tokens). */
const SECRET_QUERY = /([?&](?:[a-z0-9_.-]*(?:password|secret|token|signature|credential|key)[a-z0-9_.-]*)=)[^&#\s]*/gi;
/** NATS takes a bare token as the URL's user (nats://<token>@host). */
const TOKEN_AS_USER = /^(nats|tls|ws|wss):\/\/$/i;

/** A copy of `value` with every secret replaced by [redacted]; shapes and other values are kept. */
export function redactConfig(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    if (value && SECRET_KEY.test(key)) return REDACTED;
    return redactSecretsInText(value);
  }
  if (Array.isArray(value)) return value.map((v) => redactConfig(v, key));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactConfig(v, k)]));
  }
  return value;
}

/** Passwords in URLs (postgres://u:p@…, redis://:p@…, nats://u:p@… or nats://token@…) and secret query values. */
export function redactSecretsInText(text: string): string {
  return text
    .replace(URL_USERINFO, (_match, scheme: string, userinfo: string) => {
      const colon = userinfo.indexOf(':');
      if (colon >= 0) return `${scheme}${userinfo.slice(0, colon)}:${REDACTED}@`;
      return TOKEN_AS_USER.test(scheme) ? `${scheme}${REDACTED}@` : `${scheme}${userinfo}@`;
    })
    .replace(SECRET_QUERY, `$1${REDACTED}`);
}

export function registerConfigCommands(program: Command, { io, loadConfig, configSections }: CliCtx): void {
  const config = program.command('config').description('Configuration');
  config
    .command('show')
    .description('Print the effective configuration (env > stella.yaml > defaults), secrets redacted')
    .action(() => {
      const { config: effective, sources, file } = loadConfig();
      const shown = { file: file ?? null, sources, config: redactConfig(effective) };
      io.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
    });
  config
    .command('docs')
    .description('Print the configuration reference (docs/config.md)')
    .action(() => {
      io.stdout.write(renderConfigDocs(configSections));
    });
}
