// Tenant administration (/admin/tenants, `stella tenants`): create, list, rename, disable and enable
// tenants, and the clients of one tenant. A disabled tenant keeps its data; its tokens are refused on
// the next request (the gate below) and none are issued. Platform-level: only `tenant:admin`, which
// no tenant client and no console role can hold, reaches these.
import { Errors, isTenantId, StellaError } from '@stella/core';
import { AuthErrors, type Db, keyEncryptionKeyFor, SCOPES, validateScopeSet } from '@stella/platform';
import { generateSecret, hashSecret, secretVerifier } from './secrets.ts';

export interface TenantView {
  id: string;
  displayName: string;
  disabled: boolean;
  createdAt: string;
}

export interface TenantClientView {
  clientId: string;
  tenants: string[];
  scopes: string[];
  source: string;
  disabled: boolean;
  createdAt: string;
}

/** Scopes a tenant's client may never hold: they act on the platform, not on one tenant. */
const PLATFORM_SCOPES = new Set(['tenant:admin', 'authority:admin', 'timeline:write']);
const CLIENT_ID = /^[a-z0-9][a-z0-9._-]{2,63}$/;

interface TenantRow {
  id: string;
  display_name: string;
  disabled: boolean;
  created_at: Date | string;
}

const view = (r: TenantRow): TenantView => ({
  id: r.id,
  displayName: r.display_name,
  disabled: r.disabled,
  createdAt: new Date(r.created_at).toISOString(),
});

export async function listTenants(db: Db): Promise<TenantView[]> {
  const { rows } = await db.query<TenantRow>('select id, display_name, disabled, created_at from tenants order by id');
  return rows.map(view);
}

export async function getTenant(db: Db, id: string): Promise<TenantView> {
  const { rows } = await db.query<TenantRow>(
    'select id, display_name, disabled, created_at from tenants where id = $1',
    [id],
  );
  if (!rows[0]) throw new StellaError(Errors.notFound, `no tenant ${id}`);
  return view(rows[0]);
}

export async function createTenant(db: Db, input: { id: string; displayName?: string }): Promise<TenantView> {
  if (!isTenantId(input.id)) {
    throw new StellaError(
      Errors.validation,
      `tenant id ${JSON.stringify(input.id.slice(0, 64))} is not valid: lower-case letters, digits and inner hyphens, at most 63`,
    );
  }
  const { rows } = await db.query<TenantRow>(
    `insert into tenants (id, display_name) values ($1, $2) on conflict (id) do nothing
     returning id, display_name, disabled, created_at`,
    [input.id, input.displayName ?? input.id],
  );
  if (!rows[0]) throw new StellaError(Errors.conflict, `tenant ${input.id} exists already`);
  return view(rows[0]);
}

export async function updateTenant(
  db: Db,
  id: string,
  change: { displayName?: string; disabled?: boolean },
): Promise<TenantView> {
  const { rows } = await db.query<TenantRow>(
    `update tenants set display_name = coalesce($2, display_name), disabled = coalesce($3, disabled)
     where id = $1 returning id, display_name, disabled, created_at`,
    [id, change.displayName ?? null, change.disabled ?? null],
  );
  if (!rows[0]) throw new StellaError(Errors.notFound, `no tenant ${id}`);
  return view(rows[0]);
}

interface ClientRow {
  client_id: string;
  tenants: string[];
  scopes: string[];
  source: string;
  disabled: boolean;
  created_at: Date | string;
}

const clientView = (r: ClientRow): TenantClientView => ({
  clientId: r.client_id,
  tenants: r.tenants,
  scopes: r.scopes,
  source: r.source,
  disabled: r.disabled,
  createdAt: new Date(r.created_at).toISOString(),
});

const CLIENT_COLUMNS = 'client_id, tenants, scopes, source, disabled, created_at';

export async function listTenantClients(db: Db, tenant: string): Promise<TenantClientView[]> {
  await getTenant(db, tenant);
  const { rows } = await db.query<ClientRow>(
    `select ${CLIENT_COLUMNS} from authority_clients where $1 = any(tenants) order by client_id`,
    [tenant],
  );
  return rows.map(clientView);
}

function checkTenantScopes(scopes: readonly string[]): string[] {
  const unique = [...new Set(scopes)];
  const platform = unique.filter((s) => PLATFORM_SCOPES.has(s));
  if (platform.length > 0) {
    throw new StellaError(
      Errors.validation,
      `a tenant's client cannot hold ${platform.join(', ')}: those act on the whole platform`,
    );
  }
  const problem = validateScopeSet(unique);
  if (problem) throw new StellaError(Errors.validation, problem);
  return unique;
}

/** A client of this tenant alone; its secret is in the answer only. */
export async function createTenantClient(
  db: Db,
  tenant: string,
  input: { clientId: string; scopes: readonly string[] },
): Promise<TenantClientView & { clientSecret: string }> {
  if (!CLIENT_ID.test(input.clientId)) {
    throw new StellaError(
      Errors.validation,
      'clientId: 3–64 lower-case letters, digits, dots, underscores and hyphens',
    );
  }
  const scopes = checkTenantScopes(
    input.scopes.length ? input.scopes : SCOPES.filter((s) => !PLATFORM_SCOPES.has(s) && s !== 'metrics:read'),
  );
  await getTenant(db, tenant);
  const clientSecret = generateSecret();
  const secretHash = await hashSecret(clientSecret);
  const verifier = secretVerifier(keyEncryptionKeyFor(db), input.clientId, secretHash, clientSecret);
  const { rows } = await db.query<ClientRow>(
    `insert into authority_clients (client_id, secret_hash, tenants, scopes, source, secret_verifier)
     values ($1, $2, $3::text[], $4::text[], 'api', $5) on conflict (client_id) do nothing
     returning ${CLIENT_COLUMNS}`,
    [input.clientId, secretHash, [tenant], scopes, verifier],
  );
  if (!rows[0]) throw new StellaError(Errors.conflict, `client ${input.clientId} exists already`);
  return { ...clientView(rows[0]), clientSecret };
}

/** Disables, enables or re-scopes a client of this tenant; only the API's own clients can be re-scoped. */
export async function updateTenantClient(
  db: Db,
  tenant: string,
  clientId: string,
  change: { disabled?: boolean; scopes?: readonly string[] },
): Promise<TenantClientView> {
  const scopes = change.scopes ? checkTenantScopes(change.scopes) : null;
  const { rows } = await db.query<ClientRow>(
    `select ${CLIENT_COLUMNS} from authority_clients where client_id = $1 and $2 = any(tenants)`,
    [clientId, tenant],
  );
  const client = rows[0];
  if (!client) throw new StellaError(Errors.notFound, `tenant ${tenant} has no client ${clientId}`);
  if (client.source === 'config') {
    throw new StellaError(
      Errors.conflict,
      `client ${clientId} comes from auth.clients in the configuration: change it there`,
    );
  }
  if (scopes && client.source !== 'api') {
    throw new StellaError(Errors.conflict, `client ${clientId} is a bootstrap client; its scopes are fixed`);
  }
  const updated = await db.query<ClientRow>(
    `update authority_clients set disabled = coalesce($2, disabled), scopes = coalesce($3::text[], scopes)
     where client_id = $1 returning ${CLIENT_COLUMNS}`,
    [clientId, change.disabled ?? null, scopes],
  );
  return clientView(updated.rows[0]!);
}

/**
 * The request-time check of HttpAppOptions.tenantGate: the set of disabled tenants, read at most once
 * per `refreshMs` (one small query a second per process, not one per request), and at once after a
 * change made in this process. Other processes see a change within `refreshMs`.
 */
export function createTenantGate(db: Db, options: { refreshMs?: number } = {}) {
  const refreshMs = options.refreshMs ?? 1000;
  let disabled = new Set<string>();
  let readAt = Number.NEGATIVE_INFINITY;
  let reading: Promise<void> | undefined;
  const refresh = async () => {
    const { rows } = await db.query<{ id: string }>('select id from tenants where disabled');
    disabled = new Set(rows.map((r) => r.id));
    readAt = performance.now();
  };
  return {
    async check(tenant: string): Promise<void> {
      if (performance.now() - readAt > refreshMs) {
        reading ??= refresh().finally(() => {
          reading = undefined;
        });
        await reading;
      }
      if (disabled.has(tenant)) {
        throw new StellaError(AuthErrors.tenantDisabled, `tenant ${tenant} is disabled; its tokens are refused`);
      }
    },
    /** After a change in this process: the next check reads again. */
    invalidate(): void {
      readAt = Number.NEGATIVE_INFINITY;
    },
  };
}

export type TenantGate = ReturnType<typeof createTenantGate>;

const gates = new WeakMap<Db, TenantGate>();

/** The one gate of a database in this process: the server checks with it, the admin routes invalidate it. */
export function tenantGateFor(db: Db): TenantGate {
  let gate = gates.get(db);
  if (!gate) {
    gate = createTenantGate(db);
    gates.set(db, gate);
  }
  return gate;
}
