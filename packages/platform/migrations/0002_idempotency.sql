-- Idempotency-Key (spec §0): a repeated mutating call returns the original result instead of acting twice.
create table idempotency_keys (
  tenant text not null,
  key text not null,
  request_hash text not null,
  -- null while the first request with this key is still being handled
  status integer,
  response text,
  content_type text,
  location text,
  created_at timestamptz not null default now(),
  primary key (tenant, key)
);
create index idempotency_keys_by_age on idempotency_keys (created_at);
alter table idempotency_keys enable row level security;
alter table idempotency_keys force row level security;
create policy idempotency_keys_tenant on idempotency_keys
  using (tenant = current_setting('app.tenant', true))
  with check (tenant = current_setting('app.tenant', true));
