// Console users: a name, a scrypt password hash and a role per tenant. The role is what is stored;
// the scopes a signed-in user's token carries come from ROLE_SCOPES at sign-in, so the catalogue can
// grow without a data migration. A user never holds authority:admin: operating the authority stays
// with the bootstrap admin client and its credentials file.
import { Errors, isTenantId, StellaError } from '@stella/core';
import type { Db, Queryable, Scope } from '@stella/platform';
import { decoyHash, generateSecret, hashSecret, verifySecret } from './secrets.ts';
import {
  DELETE_USER_CODES,
  DELETE_USER_SESSIONS,
  INSERT_USER,
  LIST_USERS,
  SELECT_USER,
  SET_PASSWORD,
  SET_USER_DISABLED,
  TENANT_EXISTS,
  UPSERT_MEMBERSHIP,
} from './sql/users.ts';
import { type ThrottleRefusal, type TokenThrottle, throttleAddress } from './throttle.ts';

export const ROLES = ['admin', 'operator', 'viewer', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

const VIEWER: readonly Scope[] = [
  'advisory:read',
  'vex:read',
  'signals:read',
  'export:read',
  'sbom:read',
  'findings:read',
  'policy:read',
  'orch:read',
  'evidence:read',
  'timeline:read',
  'metrics:read',
];

/**
 * viewer reads everything of the tenant; operator also runs things (exports, recomputes, queue
 * operations); auditor also verifies the AOC and downloads bundles as evidence; admin does all of it
 * and changes what the tenant holds (ingest, policy, profiles, signals administration).
 */
export const ROLE_SCOPES: Readonly<Record<Role, readonly Scope[]>> = {
  viewer: VIEWER,
  auditor: [...VIEWER, 'aoc:verify', 'export:download'],
  operator: [
    ...VIEWER,
    'export:run',
    'export:download',
    'export:profile:manage',
    'orch:operate',
    'orch:quota',
    'signals:write',
    'findings:write',
  ],
  admin: [
    ...VIEWER,
    'aoc:verify',
    'export:run',
    'export:download',
    'export:profile:manage',
    'orch:operate',
    'orch:quota',
    'orch:backfill',
    'signals:write',
    'signals:admin',
    'findings:write',
    'policy:write',
    'advisory:ingest',
    'vex:ingest',
    'sbom:ingest',
  ],
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export const USER_NAME = /^[a-z0-9][a-z0-9._@-]*$/;
const MAX_NAME_LENGTH = 64;
/** Long enough for a passphrase, short enough that a hostile body cannot make scrypt hash megabytes. */
export const MAX_PASSWORD_LENGTH = 1024;
const MIN_PASSWORD_LENGTH = 12;

export interface UserRecord {
  name: string;
  disabled: boolean;
  /** tenant → role */
  roles: Record<string, Role>;
}

export interface CreatedUser extends UserRecord {
  /** Only when stella generated it: shown once, never stored. */
  password?: string;
}

export function isUserName(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_NAME_LENGTH && USER_NAME.test(value);
}

function userError(detail: string): StellaError {
  return new StellaError(Errors.validation, detail);
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw userError(`a password has ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`);
  }
}

async function checkMembership(db: Queryable, tenant: string, role: string): Promise<Role> {
  if (!isTenantId(tenant)) throw userError('tenant must be a tenant id (lower-case letters, digits, inner hyphens)');
  if (!isRole(role)) throw userError(`role must be one of ${ROLES.join(', ')}`);
  const { rows } = await db.query(TENANT_EXISTS, [tenant]);
  if (rows.length === 0) throw new StellaError(Errors.notFound, `tenant '${tenant}' does not exist`);
  return role;
}

/** Creates a user with roles in existing tenants; without a password one is generated and returned once. */
export async function createUser(
  db: Db,
  input: { name: string; password?: string; tenants: readonly { tenant: string; role: string }[] },
): Promise<CreatedUser> {
  if (!isUserName(input.name)) {
    throw userError(
      `a user name has at most ${MAX_NAME_LENGTH} characters: lower-case letters, digits, '.', '_', '@', '-', starting with a letter or digit`,
    );
  }
  if (input.tenants.length === 0) throw userError('a user needs at least one tenant and role');
  const generated = input.password === undefined ? generateSecret() : undefined;
  const password = input.password ?? generated!;
  checkPassword(password);
  const hash = await hashSecret(password);
  await db.transaction(async (tx) => {
    const memberships = [];
    for (const m of input.tenants) memberships.push([m.tenant, await checkMembership(tx, m.tenant, m.role)] as const);
    const { rows } = await tx.query(INSERT_USER, [input.name, hash]);
    if (rows.length === 0) {
      throw new StellaError(
        Errors.conflict,
        `user '${input.name}' already exists; add a tenant with \`stella users grant\``,
      );
    }
    for (const [tenant, role] of memberships) await tx.query(UPSERT_MEMBERSHIP, [input.name, tenant, role]);
  });
  const user = (await findUser(db, input.name))!;
  return generated === undefined ? user : { ...user, password: generated };
}

export async function grantTenant(db: Db, name: string, tenant: string, role: string): Promise<UserRecord> {
  await db.transaction(async (tx) => {
    const checked = await checkMembership(tx, tenant, role);
    if (!(await findUser(tx, name))) throw noSuchUser(name);
    await tx.query(UPSERT_MEMBERSHIP, [name, tenant, checked]);
  });
  return (await findUser(db, name))!;
}

/** Disabling ends the user's sessions and unredeemed codes at once; tokens already issued expire. */
export async function setUserDisabled(db: Db, name: string, disabled: boolean): Promise<UserRecord> {
  await db.transaction(async (tx) => {
    const { rows } = await tx.query(SET_USER_DISABLED, [name, disabled]);
    if (rows.length === 0) throw noSuchUser(name);
    if (disabled) {
      await tx.query(DELETE_USER_SESSIONS, [name]);
      await tx.query(DELETE_USER_CODES, [name]);
    }
  });
  return (await findUser(db, name))!;
}

/** A new password ends the user's sessions: whoever signed in with the old one signs in again. */
export async function setPassword(db: Db, name: string, password?: string): Promise<CreatedUser> {
  const generated = password === undefined ? generateSecret() : undefined;
  const chosen = password ?? generated!;
  checkPassword(chosen);
  const hash = await hashSecret(chosen);
  await db.transaction(async (tx) => {
    const { rows } = await tx.query(SET_PASSWORD, [name, hash]);
    if (rows.length === 0) throw noSuchUser(name);
    await tx.query(DELETE_USER_SESSIONS, [name]);
  });
  const user = (await findUser(db, name))!;
  return generated === undefined ? user : { ...user, password: generated };
}

export async function listUsers(db: Queryable): Promise<UserRecord[]> {
  const { rows } = await db.query<{ name: string; disabled: boolean; roles: Record<string, Role> }>(LIST_USERS);
  return rows.map((r) => ({ name: r.name, disabled: r.disabled, roles: r.roles }));
}

export async function findUser(
  db: Queryable,
  name: string,
): Promise<(UserRecord & { passwordHash: string }) | undefined> {
  if (!isUserName(name)) return undefined;
  const { rows } = await db.query<{
    name: string;
    password_hash: string;
    disabled: boolean;
    roles: Record<string, Role>;
  }>(SELECT_USER, [name]);
  const row = rows[0];
  return row && { name: row.name, disabled: row.disabled, roles: row.roles, passwordHash: row.password_hash };
}

function noSuchUser(name: string): StellaError {
  return new StellaError(Errors.notFound, `user '${name.slice(0, 64)}' does not exist`);
}

/**
 * The password check of a sign-in. Unknown user, disabled user and wrong password are one answer, in
 * the same time (scrypt runs against a decoy hash when there is no user), so names cannot be probed.
 * Failures back off per user name and address through the same throttle as client secrets, under a
 * `user:` prefix so a user and a client of the same name do not share a budget.
 */
export async function authenticateUser(
  db: Db,
  name: string,
  password: string,
  options: { address?: string; throttle?: TokenThrottle },
): Promise<UserRecord | ThrottleRefusal | undefined> {
  if (password.length === 0 || password.length > MAX_PASSWORD_LENGTH) return undefined;
  const user = await findUser(db, name);
  const check = async () => verifySecret(password, user?.passwordHash ?? (await decoyHash()));
  const outcome = options.throttle
    ? await options.throttle.run(`user:${name.slice(0, MAX_NAME_LENGTH)}`, throttleAddress(options.address), check)
    : await check();
  if (typeof outcome === 'object') return outcome;
  if (!outcome || !user || user.disabled) return undefined;
  return { name: user.name, disabled: user.disabled, roles: user.roles };
}
