-- Export Center (spec §2, §8): profiles with immutable revisions, runs, their event log (SSE
-- replay), distributions and per-tenant quotas. Every tenant-owned table has tenant first in its
-- key and FORCE ROW LEVEL SECURITY on app.tenant.

-- One row per revision. A profile is (tenant, name); an update appends revision n+1, so a run can
-- always name the exact configuration it used. Only archived_at ever changes on a stored row.
create table export_profiles (
  tenant text not null check (tenant ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'),
  name text not null check (name ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$' and length(name) between 3 and 64),
  revision integer not null check (revision >= 1),
  kind text not null,
  variant text not null,
  document jsonb not null,
  document_digest text not null check (document_digest ~ '^sha256:[0-9a-f]{64}$'),
  cloned_from text,
  created_by text,
  created_at timestamptz not null default now(),
  archived_at timestamptz,
  primary key (tenant, name, revision)
);

create table export_runs (
  tenant text not null check (tenant ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'),
  run_id text not null check (run_id ~ '^run-[0-9a-z]{26}$'),
  profile_name text not null,
  profile_revision integer not null,
  profile_kind text not null,
  selectors jsonb not null,
  allow_empty boolean not null default false,
  priority text not null check (priority in ('normal', 'catch-up')),
  status text not null check (status in ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'expired')),
  progress jsonb not null default '{"percent":0,"itemsCompleted":0,"itemsTotal":0}',
  error_code text,
  errors jsonb not null default '[]',
  attempts integer not null default 0,
  export_id text,
  bundle_uri text,
  bundle_digest text,
  bundle_bytes bigint,
  bundle_media_type text,
  bundle_file_name text,
  tar_digest text,
  manifest_uri text,
  manifest_digest text,
  provenance_uri text,
  records integer,
  replay_of text,
  created_by text,
  trace_id text,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  completed_at timestamptz,
  expired_at timestamptz,
  primary key (tenant, run_id),
  foreign key (tenant, profile_name, profile_revision) references export_profiles (tenant, name, revision)
);
create index export_runs_by_created on export_runs (tenant, created_at, run_id);
create index export_runs_by_profile on export_runs (tenant, profile_name, created_at);

-- Every event a run emitted, in order: the SSE stream replays from here after Last-Event-ID.
create table export_events (
  tenant text not null,
  run_id text not null,
  seq integer not null check (seq >= 1),
  type text not null check (type in ('queued', 'started', 'progress', 'artifact_ready', 'completed', 'failed', 'cancelled', 'expired')),
  data jsonb not null,
  created_at timestamptz not null default now(),
  primary key (tenant, run_id, seq),
  foreign key (tenant, run_id) references export_runs (tenant, run_id)
);

create table export_distributions (
  tenant text not null,
  run_id text not null,
  driver text not null check (driver in ('http', 'object', 'oci')),
  status text not null check (status in ('succeeded', 'failed')),
  target text,
  digest text,
  seconds double precision,
  error text,
  created_at timestamptz not null default now(),
  primary key (tenant, run_id, driver),
  foreign key (tenant, run_id) references export_runs (tenant, run_id)
);

-- A tenant's override of the default submission quota; 0 pauses the tenant (runbook §7.3).
create table export_quotas (
  tenant text primary key check (tenant ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'),
  runs_per_day integer not null check (runs_per_day >= 0),
  updated_by text,
  updated_at timestamptz not null default now()
);

-- Tenant ids only, no tenant data: which tenants the nightly retention pruner visits.
create table export_tenants (
  tenant text primary key check (tenant ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$')
);

alter table export_profiles enable row level security;
alter table export_profiles force row level security;
create policy export_profiles_tenant on export_profiles
  using (tenant = current_setting('app.tenant', true))
  with check (tenant = current_setting('app.tenant', true));
alter table export_runs enable row level security;
alter table export_runs force row level security;
create policy export_runs_tenant on export_runs
  using (tenant = current_setting('app.tenant', true))
  with check (tenant = current_setting('app.tenant', true));
alter table export_events enable row level security;
alter table export_events force row level security;
create policy export_events_tenant on export_events
  using (tenant = current_setting('app.tenant', true))
  with check (tenant = current_setting('app.tenant', true));
alter table export_distributions enable row level security;
alter table export_distributions force row level security;
create policy export_distributions_tenant on export_distributions
  using (tenant = current_setting('app.tenant', true))
  with check (tenant = current_setting('app.tenant', true));
alter table export_quotas enable row level security;
alter table export_quotas force row level security;
create policy export_quotas_tenant on export_quotas
  using (tenant = current_setting('app.tenant', true))
  with check (tenant = current_setting('app.tenant', true));
