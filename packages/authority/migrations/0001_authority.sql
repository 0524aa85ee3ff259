-- Authority: tenants, OAuth2 clients and token signing keys. These are global tables, not tenant-owned:
-- the token endpoint reads them before any tenant is known, so they carry no row-level security.

create table tenants (
  id text primary key check (id ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$' and length(id) <= 63),
  display_name text not null,
  created_at timestamptz not null default now()
);

-- secret_hash is scrypt$N$r$p$salt$hash; the plaintext secret is never stored.
create table authority_clients (
  client_id text primary key check (length(client_id) between 1 and 200),
  secret_hash text not null check (secret_hash like 'scrypt$%'),
  tenants text[] not null check (cardinality(tenants) >= 1),
  scopes text[] not null check (cardinality(scopes) >= 1),
  source text not null check (source in ('bootstrap', 'config')),
  created_at timestamptz not null default now(),
  disabled boolean not null default false
);

-- private_jwk holds the private signing key in the database: under $STELLA_HOME/pg for the embedded
-- database, or in the configured PostgreSQL, so whoever can read the database or its backups can mint
-- tokens. Protect those like the credentials file.
create table authority_signing_keys (
  kid text primary key,
  alg text not null check (alg in ('EdDSA', 'ES256')),
  private_jwk jsonb not null,
  public_jwk jsonb not null,
  status text not null check (status in ('active', 'retired')),
  created_at timestamptz not null default now(),
  retired_at timestamptz,
  -- retired_at + longest token lifetime + clock skew: until then tokens signed by it may still be valid,
  -- so the key stays in the JWKS; after that it is pruned.
  not_after timestamptz,
  check ((status = 'active') = (retired_at is null)),
  check ((status = 'active') = (not_after is null))
);

-- At most one active key: two processes starting at once cannot both create one (the loser's insert
-- conflicts and it reads the winner's key).
create unique index authority_signing_keys_one_active on authority_signing_keys ((true)) where status = 'active';
