// OAuth2 clients: the first-start bootstrap (tenant `default`, stella-admin and stella-aoc-verify,
// secrets handed over once in $STELLA_HOME/credentials.json) and the clients declared in auth.clients.
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Errors, isTenantId, StellaError } from '@stella/core';
import type { ClientConfig, Db, KeyEncryptionKey, Queryable } from '@stella/platform';
import { keyEncryptionKeyFor, SCOPES, validateScopeSet } from '@stella/platform';
import { ensureActiveKey } from './keys.ts';
import { generateSecret, hashSecret, isSecretHash, secretVerifier } from './secrets.ts';
import {
  COUNT_BOOTSTRAP_CLIENTS,
  DISABLE_MISSING_CONFIG_CLIENTS,
  INSERT_BOOTSTRAP_CLIENT,
  INSERT_TENANT,
  ROTATE_CLIENT_SECRET,
  SELECT_CLIENT,
  UPSERT_CONFIG_CLIENT,
} from './sql/clients.ts';

export const DEFAULT_TENANT = 'default';
export const CREDENTIALS_FILE = 'credentials.json';

export interface ClientRecord {
  clientId: string;
  secretHash: string;
  tenants: string[];
  scopes: string[];
  source: 'bootstrap' | 'config' | 'api';
  disabled: boolean;
  /** HMAC of the secret under the KEK, set once the client presented it (see secretVerifier). */
  secretVerifier: string | null;
  /** The secret the last rotation replaced, accepted until `previousSecretExpiresAt`. */
  previousSecretHash: string | null;
  previousSecretExpiresAt: Date | null;
}

export interface BootstrapOptions {
  /** $STELLA_HOME: credentials.json is written here. */
  home: string;
  /** auth.clients, secrets already hashed. */
  configClients?: readonly ClientConfig[];
  /** auth.bootstrap; false skips the default tenant and clients (config clients are still applied). */
  createDefaults?: boolean;
  /** Written into credentials.json so the CLI knows where to ask for tokens. */
  issuer?: string;
  now?: Date;
  /** Seals the signing key; default: the KEK attached to `db`. */
  kek?: KeyEncryptionKey;
  /** auth.verifierClient (AOC_VERIFIER_USER): the id the read-only verifier client is created under. */
  verifierClient?: string;
}

export interface BootstrapResult {
  /** True only on the start that created the default clients and wrote the credentials file. */
  created: boolean;
  credentialsFile: string | undefined;
  configClients: string[];
  /** Config clients no longer in the config, now refused. */
  disabledClients: string[];
}

export interface CredentialsEntry {
  clientId: string;
  clientSecret: string;
  tenants: string[];
  scopes: string[];
}

export interface CredentialsFile {
  issuer?: string;
  clients: Record<string, CredentialsEntry>;
}

interface DefaultClient {
  clientId: string;
  tenants: string[];
  scopes: string[];
}

export const ADMIN_CLIENT = 'stella-admin';
export const DEFAULT_VERIFIER_CLIENT = 'stella-aoc-verify';

function defaultClients(verifierClient = DEFAULT_VERIFIER_CLIENT): DefaultClient[] {
  return [
    { clientId: ADMIN_CLIENT, tenants: [DEFAULT_TENANT], scopes: [...SCOPES] },
    // Seed 004 §3: a read-only identity for `stella aoc verify` jobs (AOC_VERIFIER_USER names it).
    { clientId: verifierClient, tenants: [DEFAULT_TENANT], scopes: ['aoc:verify', 'advisory:read', 'vex:read'] },
  ];
}

/**
 * Runs on every start. The default clients are created once: their secrets exist in plaintext only
 * in the credentials file written here, and later starts neither regenerate nor print them.
 */
export async function bootstrapAuthority(db: Db, options: BootstrapOptions): Promise<BootstrapResult> {
  const configClients = validateConfigClients(options.configClients ?? []);
  const kek = options.kek ?? keyEncryptionKeyFor(db);
  await ensureActiveKey(db, options.now, kek);

  let created = false;
  let credentialsFile: string | undefined;
  if (options.createDefaults !== false) {
    const { rows } = await db.query<{ n: number }>(COUNT_BOOTSTRAP_CLIENTS);
    if ((rows[0]?.n ?? 0) === 0) {
      const issued = await Promise.all(
        defaultClients(options.verifierClient).map(async (c) => {
          const clientSecret = generateSecret();
          const secretHash = await hashSecret(clientSecret);
          // The verifier is known now, so these clients are never throttled with guessers, even
          // before their first token request.
          return {
            ...c,
            clientSecret,
            secretHash,
            verifier: secretVerifier(kek, c.clientId, secretHash, clientSecret),
          };
        }),
      );
      const path = join(options.home, CREDENTIALS_FILE);
      created = await db
        .transaction(async (tx) => {
          await tx.query(INSERT_TENANT, [DEFAULT_TENANT, 'Default tenant']);
          for (const c of issued) {
            const inserted = await tx.query(INSERT_BOOTSTRAP_CLIENT, [
              c.clientId,
              c.secretHash,
              c.tenants,
              c.scopes,
              c.verifier,
            ]);
            // Roll everything back: a half-created pair would leave a client whose secret nobody has.
            if (inserted.rows.length === 0) throw new BootstrapLost();
          }
          // Written before commit: if writing fails nothing is committed and the next start tries again;
          // committing first could leave clients whose secrets nobody has.
          await writePrivateFile(path, `${JSON.stringify(credentialsOf(issued, options.issuer), null, 2)}\n`);
          return true;
        })
        .catch(async (error: unknown) => {
          if (!(error instanceof BootstrapLost)) throw error;
          // Another process bootstrapped between our count and our insert; its file is the real one.
          const again = await db.query<{ n: number }>(COUNT_BOOTSTRAP_CLIENTS);
          if ((again.rows[0]?.n ?? 0) > 0) return false;
          throw new StellaError(
            Errors.config,
            `auth.clients uses a reserved client id (${defaultClients(options.verifierClient)
              .map((c) => c.clientId)
              .join(', ')}); rename that client or set auth.bootstrap=false`,
          );
        });
      if (created) credentialsFile = path;
    }
  }

  const applied = await applyConfigClients(db, configClients);
  return { created, credentialsFile, ...applied };
}

class BootstrapLost extends Error {}

function credentialsOf(
  issued: readonly (DefaultClient & { clientSecret: string })[],
  issuer?: string,
): CredentialsFile {
  return {
    ...(issuer ? { issuer } : {}),
    clients: Object.fromEntries(
      issued.map((c) => [
        c.clientId,
        { clientId: c.clientId, clientSecret: c.clientSecret, tenants: c.tenants, scopes: c.scopes },
      ]),
    ),
  };
}

export async function findClient(db: Queryable, clientId: string): Promise<ClientRecord | undefined> {
  const { rows } = await db.query<{
    client_id: string;
    secret_hash: string;
    tenants: string[];
    scopes: string[];
    source: 'bootstrap' | 'config' | 'api';
    disabled: boolean;
    secret_verifier: string | null;
    previous_secret_hash: string | null;
    previous_secret_expires_at: Date | string | null;
  }>(SELECT_CLIENT, [clientId]);
  const row = rows[0];
  if (!row) return undefined;
  return {
    clientId: row.client_id,
    secretHash: row.secret_hash,
    tenants: row.tenants,
    scopes: row.scopes,
    source: row.source,
    disabled: row.disabled,
    secretVerifier: row.secret_verifier,
    previousSecretHash: row.previous_secret_hash,
    previousSecretExpiresAt: row.previous_secret_expires_at === null ? null : new Date(row.previous_secret_expires_at),
  };
}

/** The longest overlap a rotation may give the old secret: a quarter, the seed's rotation period. */
export const MAX_SECRET_OVERLAP_SECONDS = 90 * 86_400;

export interface RotatedSecret {
  clientId: string;
  /** Shown once; only its hash is stored. */
  clientSecret: string;
  /** Until then the previous secret still works. */
  previousSecretExpiresAt: Date;
}

/**
 * Gives a bootstrap client a new secret; the old one keeps working for `overlapSeconds` (0: it stops
 * at once). Refuses config clients (their secret is auth.clients[].secretHash) and unknown ids.
 */
export async function rotateClientSecret(
  db: Db,
  clientId: string,
  options: { overlapSeconds: number; now: Date; kek?: KeyEncryptionKey },
): Promise<RotatedSecret> {
  const { overlapSeconds, now } = options;
  if (!Number.isInteger(overlapSeconds) || overlapSeconds < 0 || overlapSeconds > MAX_SECRET_OVERLAP_SECONDS) {
    throw new StellaError(
      Errors.validation,
      `overlap must be 0 to ${MAX_SECRET_OVERLAP_SECONDS} seconds (90 days), got ${overlapSeconds}`,
    );
  }
  const client = await findClient(db, clientId);
  if (!client) throw new StellaError(Errors.notFound, `no client ${clientId}`);
  if (client.source === 'config') {
    throw new StellaError(
      Errors.conflict,
      `client ${clientId} comes from auth.clients in the configuration: rotate it there (a new secretHash from \`stella auth hash-secret\`) and restart`,
    );
  }
  const clientSecret = generateSecret();
  const secretHash = await hashSecret(clientSecret);
  const verifier = secretVerifier(options.kek ?? keyEncryptionKeyFor(db), clientId, secretHash, clientSecret);
  const previousSecretExpiresAt = new Date(now.getTime() + overlapSeconds * 1000);
  const { rows } = await db.query(ROTATE_CLIENT_SECRET, [clientId, secretHash, verifier, previousSecretExpiresAt]);
  if (rows.length === 0) throw new StellaError(Errors.notFound, `no client ${clientId}`);
  return { clientId, clientSecret, previousSecretExpiresAt };
}

async function applyConfigClients(
  db: Db,
  clients: readonly ClientConfig[],
): Promise<{ configClients: string[]; disabledClients: string[] }> {
  return db.transaction(async (tx) => {
    for (const c of clients) {
      for (const tenant of c.tenants) await tx.query(INSERT_TENANT, [tenant, tenant]);
      const upserted = await tx.query(UPSERT_CONFIG_CLIENT, [c.clientId, c.secretHash, c.tenants, c.scopes]);
      if (upserted.rows.length === 0) {
        throw new StellaError(
          Errors.config,
          `auth.clients: client id '${c.clientId}' is already used by a bootstrap client; choose another id`,
        );
      }
    }
    const disabled = await tx.query<{ client_id: string }>(DISABLE_MISSING_CONFIG_CLIENTS, [
      clients.map((c) => c.clientId),
    ]);
    return { configClients: clients.map((c) => c.clientId), disabledClients: disabled.rows.map((r) => r.client_id) };
  });
}

/** Fails start-up on a config client that could never get a token, rather than at its first request. */
function validateConfigClients(clients: readonly ClientConfig[]): ClientConfig[] {
  const seen = new Set<string>();
  return clients.map((c, i) => {
    const where = `auth.clients[${i}] (${c.clientId})`;
    const fail = (why: string) => new StellaError(Errors.config, `${where}: ${why}`);
    if (seen.has(c.clientId)) throw fail('client id listed twice');
    seen.add(c.clientId);
    if (!isSecretHash(c.secretHash)) {
      throw fail('secretHash is not an scrypt$N$r$p$salt$hash string; create one with `stella auth hash-secret`');
    }
    const badTenant = c.tenants.find((t) => !isTenantId(t));
    if (badTenant !== undefined) throw fail(`tenant '${badTenant}' is not a valid tenant id`);
    const scopeProblem = validateScopeSet(c.scopes);
    if (scopeProblem) throw fail(scopeProblem);
    return { ...c, tenants: [...new Set(c.tenants)], scopes: [...new Set(c.scopes)] };
  });
}

/**
 * Creates the file with mode 0600 from the first byte (never readable by others, not even briefly)
 * and renames it into place, so a crash leaves either the old file or the complete new one.
 */
async function writePrivateFile(path: string, content: string): Promise<void> {
  const dir = join(path, '..');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx', 0o600);
  let written = false;
  try {
    // The umask can only remove bits from 0600; chmod makes the mode exact whatever it is.
    await handle.chmod(0o600);
    await handle.writeFile(content, 'utf8');
    await handle.sync();
    written = true;
  } finally {
    await handle.close();
    if (!written) await rm(temp, { force: true });
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
