-- The tenants whose runs reference CAS objects, for CAS maintenance (platform migration 0006).
create trigger export_runs_cas_tenant after insert on export_runs
  for each statement execute function cas_note_tenant();
-- Existing tenants; the owner is exempt from row-level security only while it is not forced.
alter table export_runs no force row level security;
insert into cas_tenants (tenant) select distinct tenant from export_runs on conflict do nothing;
alter table export_runs force row level security;
