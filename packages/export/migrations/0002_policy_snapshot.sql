-- The policy snapshot a run was submitted with (issue 13): json:policy bundles are evaluated under
-- it, and every bundle built with one names it in export.json and provenance.json. The id is the
-- findings room's snapshot id (sha256 of the policy's canonical JSON), checked at submission through
-- that room's door; null when the profile takes no snapshot. A replay reuses the original's id.
alter table export_runs
  add column policy_snapshot_id text check (policy_snapshot_id ~ '^sha256:[0-9a-f]{64}$');
