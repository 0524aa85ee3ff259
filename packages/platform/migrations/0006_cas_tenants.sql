-- CAS objects are stored per tenant (`tenants/<tenant>/<namespace>/…`, see src/blob/tenant.ts). The
-- maintenance that walks them (the move from the shared layout, the collector of unreferenced objects)
-- visits every tenant that holds CAS references, listed here: tenant ids only, no tenant data, so the
-- list is readable without a tenant. Rows are added by a statement trigger on each table that holds
-- references (rooms attach cas_note_tenant() to their own tables in their migrations).
create table cas_tenants (
  tenant text primary key check (tenant ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$')
);

create function cas_note_tenant() returns trigger language plpgsql as $$
declare
  current_tenant text := current_setting('app.tenant', true);
begin
  -- Row-level security makes every row a statement inserts belong to app.tenant.
  if current_tenant is not null and current_tenant <> '' then
    insert into cas_tenants (tenant) values (current_tenant) on conflict do nothing;
  end if;
  return null;
end $$;

-- Layout changes that completed; version 1 is the tenant prefix. Start-up skips a completed move.
create table cas_layout (
  version integer primary key,
  completed_at timestamptz not null default now(),
  copied integer not null,
  missing integer not null,
  removed integer not null
);

-- The timeline references CAS objects too (receipts, evidence); its tenants are listed as of now.
-- The owner runs migrations and is exempt from row-level security only while it is not forced.
create trigger timeline_heads_cas_tenant after insert on timeline_heads
  for each statement execute function cas_note_tenant();
alter table timeline_heads no force row level security;
insert into cas_tenants (tenant) select tenant from timeline_heads on conflict do nothing;
alter table timeline_heads force row level security;
