-- Audits advisory_raw and vex_raw before (re-)enabling the AOC constraints (seed 004 §1.1, §1.3).
-- Reports, at most :LIMIT rows each:
--   1. identical documents stored twice in one chain (same tenant, vendor, upstream_id and
--      content hash in consecutive revisions: an idempotency violation);
--   2. documents with more than one head (their supersedes chain forked);
--   3. revisions whose supersedes does not resolve to the previous revision.
-- Run as a superuser (or a role with BYPASSRLS): the tables force row security for their owner.
--
--   psql "$STELLA_DATABASE_URL" -v LIMIT=200 -f ops/devops/scripts/check-advisory-raw-duplicates.sql
--
-- No rows in all three sections means the constraints can be applied.
\set ON_ERROR_STOP on
\if :{?LIMIT}
\else
  \set LIMIT 200
\endif
set row_security = off;

\echo '== consecutive revisions with the same content hash (ERR_AOC_003) =='
select 'advisory_raw' as store, r.tenant, r.source_vendor, r.upstream_id, r.id, p.id as previous, r.content_hash
  from advisory_raw r join advisory_raw p on p.tenant = r.tenant and p.id = r.supersedes
 where p.content_hash = r.content_hash
union all
select 'vex_raw', r.tenant, r.source_vendor, r.upstream_id, r.id, p.id, r.content_hash
  from vex_raw r join vex_raw p on p.tenant = r.tenant and p.id = r.supersedes
 where p.content_hash = r.content_hash
 order by 2, 3, 4, 5
 limit :LIMIT;

\echo '== documents with more than one head (forked chains) =='
select 'advisory_raw' as store, tenant, source_vendor, upstream_id, count(*) as heads
  from advisory_raw r
 where not exists (select 1 from advisory_raw n where n.tenant = r.tenant and n.supersedes = r.id)
 group by tenant, source_vendor, upstream_id having count(*) > 1
union all
select 'vex_raw', tenant, source_vendor, upstream_id, count(*)
  from vex_raw r
 where not exists (select 1 from vex_raw n where n.tenant = r.tenant and n.supersedes = r.id)
 group by tenant, source_vendor, upstream_id having count(*) > 1
 order by 2, 3, 4
 limit :LIMIT;

\echo '== revisions whose supersedes does not resolve to the previous revision =='
select 'advisory_raw' as store, r.tenant, r.id, r.revision, r.supersedes
  from advisory_raw r left join advisory_raw p on p.tenant = r.tenant and p.id = r.supersedes
 where (r.revision > 1 and (p.id is null or p.revision <> r.revision - 1
                            or p.source_vendor <> r.source_vendor or p.upstream_id <> r.upstream_id))
    or (r.revision = 1 and r.supersedes is not null)
union all
select 'vex_raw', r.tenant, r.id, r.revision, r.supersedes
  from vex_raw r left join vex_raw p on p.tenant = r.tenant and p.id = r.supersedes
 where (r.revision > 1 and (p.id is null or p.revision <> r.revision - 1
                            or p.source_vendor <> r.source_vendor or p.upstream_id <> r.upstream_id))
    or (r.revision = 1 and r.supersedes is not null)
 order by 2, 3
 limit :LIMIT;
