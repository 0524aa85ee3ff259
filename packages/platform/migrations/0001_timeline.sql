-- Timeline: append-only, tenant-partitioned, hash-chained per tenant (spec §6).
create table timeline_events (
  tenant text not null check (tenant ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'),
  seq bigint not null check (seq > 0),
  event_id text not null check (event_id ~ '^[0-9A-HJKMNP-TV-Z]{26}$'),
  occurred_at timestamptz not null,
  category text not null check (category ~ '^[a-z][a-z0-9_-]*$'),
  kind text not null check (kind ~ '^[a-z][a-z0-9_.-]*$'),
  details jsonb not null,
  trace_id text,
  prev_hash text not null,
  hash text not null check (hash ~ '^sha256:[0-9a-f]{64}$'),
  primary key (tenant, seq),
  unique (tenant, event_id)
);
create index timeline_events_by_kind on timeline_events (tenant, kind, seq);
create index timeline_events_by_category on timeline_events (tenant, category, seq);
create index timeline_events_by_trace on timeline_events (tenant, trace_id) where trace_id is not null;
create index timeline_events_by_time on timeline_events (tenant, occurred_at);

-- The head of each tenant's chain; appends lock this row so events chain in one order.
create table timeline_heads (
  tenant text primary key,
  seq bigint not null,
  hash text not null
);

-- Append-only: no UPDATE or DELETE, whoever asks (retention prunes by dropping whole partitions later).
create function timeline_refuse_change() returns trigger language plpgsql as $$
begin
  raise exception 'timeline_events is append-only: % refused', tg_op using errcode = '42501';
end $$;
create trigger timeline_events_append_only before update or delete on timeline_events
  for each row execute function timeline_refuse_change();

alter table timeline_events enable row level security;
alter table timeline_events force row level security;
create policy timeline_events_tenant on timeline_events
  using (tenant = current_setting('app.tenant', true))
  with check (tenant = current_setting('app.tenant', true));
alter table timeline_heads enable row level security;
alter table timeline_heads force row level security;
create policy timeline_heads_tenant on timeline_heads
  using (tenant = current_setting('app.tenant', true))
  with check (tenant = current_setting('app.tenant', true));

-- Outbox: events for subscribers, written in the same transaction as the change they report.
create table outbox (
  tenant text not null,
  id text not null,
  topic text not null,
  payload jsonb not null,
  created_at timestamptz not null default now(),
  delivered_at timestamptz,
  attempts integer not null default 0,
  claimed_until timestamptz,
  last_error text,
  primary key (tenant, id)
);
create index outbox_pending on outbox (created_at) where delivered_at is null;
alter table outbox enable row level security;
alter table outbox force row level security;
-- The dispatcher works across tenants, so it sets app.tenant to '*' to see pending rows of all tenants.
create policy outbox_tenant on outbox
  using (tenant = current_setting('app.tenant', true) or current_setting('app.tenant', true) = '*')
  with check (tenant = current_setting('app.tenant', true) or current_setting('app.tenant', true) = '*');
