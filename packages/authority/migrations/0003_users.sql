-- People who sign in to the console: users with a password (scrypt), a role per tenant, the one-use
-- authorization codes of the code flow with PKCE, and sign-in sessions. Global tables like the
-- clients: /authorize and /token read them before any tenant is known, so no row-level security.

create table authority_users (
  name text primary key check (name ~ '^[a-z0-9][a-z0-9._@-]*$' and length(name) <= 64),
  password_hash text not null check (password_hash like 'scrypt$%'),
  disabled boolean not null default false,
  created_at timestamptz not null default now()
);

-- The role names the scopes a token gets (users.ts ROLE_SCOPES); it is stored, the scopes are not, so
-- a change of the catalogue applies to every user at their next sign-in.
create table authority_user_tenants (
  user_name text not null references authority_users (name) on delete cascade,
  tenant text not null references tenants (id),
  role text not null check (role in ('admin', 'operator', 'viewer', 'auditor')),
  primary key (user_name, tenant)
);

-- Only the SHA-256 of a code or session id is stored: a database read does not hand out sign-ins.
create table authority_codes (
  code_hash text primary key,
  user_name text not null references authority_users (name) on delete cascade,
  tenant text not null,
  client_id text not null,
  redirect_uri text not null,
  code_challenge text not null,
  expires_at timestamptz not null,
  used_at timestamptz
);
create index authority_codes_expiry on authority_codes (expires_at);

create table authority_sessions (
  id_hash text primary key,
  user_name text not null references authority_users (name) on delete cascade,
  created_at timestamptz not null,
  expires_at timestamptz not null
);
create index authority_sessions_expiry on authority_sessions (expires_at);
