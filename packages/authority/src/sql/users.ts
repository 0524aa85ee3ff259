// SQL for console users, their tenant roles, authorization codes and sign-in sessions.

export const INSERT_USER = `insert into authority_users (name, password_hash) values ($1, $2)
  on conflict (name) do nothing returning name`;

export const SELECT_USER = `select u.name, u.password_hash, u.disabled,
    coalesce(jsonb_object_agg(m.tenant, m.role) filter (where m.tenant is not null), '{}'::jsonb) as roles
  from authority_users u left join authority_user_tenants m on m.user_name = u.name
  where u.name = $1 group by u.name`;

export const LIST_USERS = `select u.name, u.disabled, u.created_at,
    coalesce(jsonb_object_agg(m.tenant, m.role) filter (where m.tenant is not null), '{}'::jsonb) as roles
  from authority_users u left join authority_user_tenants m on m.user_name = u.name
  group by u.name order by u.name`;

export const UPSERT_MEMBERSHIP = `insert into authority_user_tenants (user_name, tenant, role) values ($1, $2, $3)
  on conflict (user_name, tenant) do update set role = excluded.role`;

export const TENANT_EXISTS = `select 1 from tenants where id = $1`;

/** Disabling also ends every session and code of the user at once. */
export const SET_USER_DISABLED = `update authority_users set disabled = $2 where name = $1 returning name`;
export const DELETE_USER_SESSIONS = `delete from authority_sessions where user_name = $1`;
export const DELETE_USER_CODES = `delete from authority_codes where user_name = $1 and used_at is null`;

export const SET_PASSWORD = `update authority_users set password_hash = $2 where name = $1 returning name`;

export const INSERT_CODE = `insert into authority_codes
  (code_hash, user_name, tenant, client_id, redirect_uri, code_challenge, expires_at)
  values ($1, $2, $3, $4, $5, $6, $7)`;

/**
 * Marks the code used and returns it, in one statement: of two redemptions racing, one gets the row.
 * An expired or used code returns nothing; the row stays until pruned, so a replay is still refused.
 */
export const REDEEM_CODE = `update authority_codes set used_at = $2
  where code_hash = $1 and used_at is null and expires_at > $2
  returning user_name, tenant, client_id, redirect_uri, code_challenge`;

export const PRUNE_CODES = `delete from authority_codes where expires_at < $1`;

export const INSERT_SESSION = `insert into authority_sessions (id_hash, user_name, created_at, expires_at)
  values ($1, $2, $3, $4)`;

export const SELECT_SESSION = `select s.user_name from authority_sessions s
  join authority_users u on u.name = s.user_name
  where s.id_hash = $1 and s.expires_at > $2 and not u.disabled`;

export const DELETE_SESSION = `delete from authority_sessions where id_hash = $1`;

export const PRUNE_SESSIONS = `delete from authority_sessions where expires_at < $1`;
