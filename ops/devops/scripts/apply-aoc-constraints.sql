-- Applies (or, with -v remove=1, removes) the AOC constraint set on advisory_raw and vex_raw:
-- CHECK constraints on tenant, source, upstream and linkset, on the content hash (recomputed from the
-- raw bytes), on forbidden envelope keys and on the chain position, the supersedes foreign key, and
-- the append-only trigger. Applying validates every existing row. stella's migrations already apply
-- the set; this script is for the runbook's rollback and re-apply (seed 004 §1.1, §6). Idempotent.
--
--   psql "$STELLA_DATABASE_URL" -f ops/devops/scripts/apply-aoc-constraints.sql
--   psql "$STELLA_DATABASE_URL" -v remove=1 -f ops/devops/scripts/apply-aoc-constraints.sql     # rollback
--   ops/devops/scripts/apply-aoc-constraints.sh --remove "$STELLA_DATABASE_URL"          # the same, as seed 004 writes it
--
-- Run check-advisory-raw-duplicates.sql first: re-applying fails if rows violate the checks.
\set ON_ERROR_STOP on
\if :{?remove}
  select aoc_remove_constraints();
  \echo 'AOC constraints removed from advisory_raw and vex_raw. Re-apply before resuming ingestion.'
\else
  select aoc_apply_constraints();
  \echo 'AOC constraints applied to advisory_raw and vex_raw.'
\endif
