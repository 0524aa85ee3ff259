-- Mirror bundles applied to this stella by `stella offline import` (issue 15): one row per applied
-- export, written in the transaction that writes its records, so the log and the raw stores never
-- disagree. `seq` orders them; the newest row is what the next delta must build on (its base) and
-- what a later bundle may not be older than (monotonic anchor time and TUF versions).
create table mirror_imports (
  tenant text not null check (tenant ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'),
  seq integer not null check (seq >= 1),
  export_id text not null check (export_id ~ '^exp-[0-9a-f]{24}$'),
  mode text not null check (mode in ('full', 'delta')),
  base_export_id text check ((mode = 'full') = (base_export_id is null)),
  manifest_digest text not null check (manifest_digest ~ '^sha256:[0-9a-f]{64}$'),
  source_tenant text not null,
  anchor_time timestamptz not null,
  tuf_timestamp_version integer,
  records_inserted integer not null,
  records_present integer not null,
  tombstones integer not null,
  imported_at timestamptz not null,
  primary key (tenant, seq),
  unique (tenant, export_id)
);
alter table mirror_imports enable row level security;
alter table mirror_imports force row level security;
create policy mirror_imports_tenant on mirror_imports
  using (tenant = current_setting('app.tenant', true))
  with check (tenant = current_setting('app.tenant', true));
