-- The base export a mirror:delta run is built against (issue 15): the export id of a succeeded mirror
-- run of the same tenant, given at submission or the tenant's newest one, fixed on the run so a replay
-- builds the same delta. Null for every other kind.
alter table export_runs
  add column base_export_id text check (base_export_id ~ '^exp-[0-9a-f]{24}$');
