-- Per-tenant signing keys for DSSE envelopes and blob signatures (graph manifests, runtime
-- attestations, export bundles). One active key per (tenant, purpose, algorithm), created on first use.
-- private_key_pem is PKCS#8 PEM: whoever can read the database or its backups can sign as the
-- tenant, so protect those like the credentials file. It is never logged or returned by any route.
create table signing_keys (
  tenant text not null check (tenant ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'),
  keyid text not null check (keyid ~ '^sha256:[0-9a-f]{64}$'),
  purpose text not null check (purpose ~ '^[a-z][a-z0-9_-]{0,63}$'),
  algorithm text not null check (algorithm in ('ed25519', 'ecdsa-p256')),
  public_key_pem text not null,
  private_key_pem text not null,
  status text not null default 'active' check (status in ('active', 'retired')),
  created_at timestamptz not null default now(),
  primary key (tenant, keyid)
);
-- Two processes asking for the same key at once: the loser's insert conflicts and it reads the winner's.
create unique index signing_keys_one_active on signing_keys (tenant, purpose, algorithm) where status = 'active';
alter table signing_keys enable row level security;
alter table signing_keys force row level security;
create policy signing_keys_tenant on signing_keys
  using (tenant = current_setting('app.tenant', true))
  with check (tenant = current_setting('app.tenant', true));
