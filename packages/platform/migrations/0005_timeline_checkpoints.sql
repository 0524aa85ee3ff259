-- Signed timeline checkpoints: a DSSE envelope over the chain head (tenant, seq, hash, event count,
-- time), signed with the tenant's `timeline` key. Retention may delete events up to a checkpoint and the
-- rest still verifies from it. Append-only like the events.
create table timeline_checkpoints (
  tenant text not null check (tenant ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'),
  seq bigint not null check (seq > 0),
  checkpoint_id text not null check (checkpoint_id ~ '^[0-9A-HJKMNP-TV-Z]{26}$'),
  head_hash text not null check (head_hash ~ '^sha256:[0-9a-f]{64}$'),
  event_count bigint not null check (event_count > 0),
  created_at timestamptz not null,
  keyid text not null,
  envelope jsonb not null,
  -- One checkpoint per head: two workers signing the same head at once insert it once.
  primary key (tenant, seq),
  unique (tenant, checkpoint_id)
);
create index timeline_checkpoints_by_time on timeline_checkpoints (tenant, created_at);

alter table timeline_checkpoints enable row level security;
alter table timeline_checkpoints force row level security;
create policy timeline_checkpoints_tenant on timeline_checkpoints
  using (tenant = current_setting('app.tenant', true))
  with check (tenant = current_setting('app.tenant', true));

-- Retention deletes a tenant's oldest events, and only up to a checkpoint it keeps: a DELETE passes
-- only in a transaction that set app.timeline_prune (the prune step alone does) and only for an event
-- at or below a retained checkpoint's seq, so no delete can leave events that nothing signed vouches
-- for. UPDATE stays refused, whoever asks.
create or replace function timeline_refuse_change() returns trigger language plpgsql as $$
begin
  if tg_op = 'DELETE' and current_setting('app.timeline_prune', true) = 'on' and exists (
    select 1 from timeline_checkpoints c where c.tenant = old.tenant and c.seq >= old.seq
  ) then
    return old;
  end if;
  raise exception 'timeline_events is append-only: % refused', tg_op using errcode = '42501';
end $$;

-- A checkpoint is never changed; retention deletes only those below a newer one it keeps.
create function timeline_checkpoints_refuse_change() returns trigger language plpgsql as $$
begin
  if tg_op = 'DELETE' and current_setting('app.timeline_prune', true) = 'on' and exists (
    select 1 from timeline_checkpoints c where c.tenant = old.tenant and c.seq > old.seq
  ) then
    return old;
  end if;
  raise exception 'timeline_checkpoints is append-only: % refused', tg_op using errcode = '42501';
end $$;
create trigger timeline_checkpoints_append_only before update or delete on timeline_checkpoints
  for each row execute function timeline_checkpoints_refuse_change();

-- The checkpoint and retention jobs find the tenants to visit by reading every chain head in a
-- transaction that set app.timeline_maintenance; they then work on each tenant in its own transaction.
-- Reads only: no write to a head passes this policy, and a tenant's transaction still sees its own.
create policy timeline_heads_maintenance on timeline_heads for select
  using (current_setting('app.timeline_maintenance', true) = 'on');
