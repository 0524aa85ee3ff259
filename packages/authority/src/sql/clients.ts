// SQL for the client aggregate: OAuth2 clients and the tenants they act for.

export const SELECT_CLIENT = `select client_id, secret_hash, tenants, scopes, source, disabled, secret_verifier,
    previous_secret_hash, previous_secret_expires_at
  from authority_clients where client_id = $1`;

/**
 * A new secret; the current one becomes the previous, valid until $4. The verifier is of the new
 * secret, so the old one always takes the scrypt path and stops at its expiry. Config clients are
 * rotated in auth.clients instead (the file would overwrite this at the next start).
 */
export const ROTATE_CLIENT_SECRET = `update authority_clients
  set previous_secret_hash = secret_hash, previous_secret_expires_at = $4, secret_hash = $2, secret_verifier = $3
  where client_id = $1 and source in ('bootstrap', 'api')
  returning client_id`;

/** Stored after a successful scrypt check; only while the hash it was computed over is still current. */
export const SET_SECRET_VERIFIER = `update authority_clients set secret_verifier = $3
  where client_id = $1 and secret_hash = $2 and secret_verifier is distinct from $3`;

export const COUNT_BOOTSTRAP_CLIENTS = `select count(*)::int as n from authority_clients where source = 'bootstrap'`;

export const INSERT_TENANT = `insert into tenants (id, display_name) values ($1, $2) on conflict (id) do nothing`;

/** Returns no row when the client already exists, i.e. another process bootstrapped first. */
export const INSERT_BOOTSTRAP_CLIENT = `insert into authority_clients (client_id, secret_hash, tenants, scopes, source, secret_verifier)
  values ($1, $2, $3::text[], $4::text[], 'bootstrap', $5)
  on conflict (client_id) do nothing
  returning client_id`;

/**
 * Config is the source of truth for config clients; a bootstrap client of the same id is left alone.
 * A changed secret hash drops the verifier of the old secret.
 */
export const UPSERT_CONFIG_CLIENT = `insert into authority_clients (client_id, secret_hash, tenants, scopes, source)
  values ($1, $2, $3::text[], $4::text[], 'config')
  on conflict (client_id) do update
    set secret_hash = excluded.secret_hash, tenants = excluded.tenants, scopes = excluded.scopes, disabled = false,
        previous_secret_hash = null, previous_secret_expires_at = null,
        secret_verifier = case when authority_clients.secret_hash = excluded.secret_hash
                               then authority_clients.secret_verifier end
    where authority_clients.source = 'config'
  returning client_id`;

/** Config clients removed from the config file stop working instead of lingering. */
export const DISABLE_MISSING_CONFIG_CLIENTS = `update authority_clients set disabled = true
  where source = 'config' and not disabled and not (client_id = any($1::text[]))
  returning client_id`;
