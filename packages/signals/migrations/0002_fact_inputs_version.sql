-- Facts know which inputs they were computed from. Every change of a subject's inputs (a runtime
-- batch, a new callgraph, other targets) bumps signals_subjects.inputs_version and starts
-- pending_since; a fact records the inputs_version it covers. A recompute writes its fact only while
-- the subject's inputs_version is still the one it read (checked under the subject's row lock), so a
-- recompute that read older inputs can no longer overwrite a newer fact; and GET /signals/facts can
-- tell "accepted, not computed yet" (202) from "never heard of" (404).
-- Rows from before this migration: inputs_version 0 on both sides, so existing facts count as
-- current, and a subject without a fact is pending since its updated_at.
alter table signals_subjects add column inputs_version bigint not null default 0;
alter table signals_subjects add column pending_since timestamptz;
alter table signals_facts add column inputs_version bigint not null default 0;
