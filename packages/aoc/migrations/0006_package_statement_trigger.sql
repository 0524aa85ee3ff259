-- The package lookup of 0003 filled once per statement, as 0005 does for the alias lookup and for the
-- same reasons: one INSERT … SELECT over the statement's transition table instead of one per row, the
-- same rows at the same moment for every insert path, written as the inserting role under the
-- lookup's tenant policy. Trigger and function keep their names; the lookup's rows need no backfill.

create function aoc_fill_package_lookup_per_statement(store text) returns void language plpgsql as $fn$
declare
  lookup text := store || '_package';
begin
  execute format('drop trigger %I on %I', lookup || '_fill', store);
  execute format($t$create or replace function %1$I() returns trigger language plpgsql as $body$
      begin
        insert into %2$I (tenant, package, id)
          select distinct r.tenant, p.package, r.id from new_rows r cross join lateral unnest(r.packages) as p(package)
          on conflict do nothing;
        return null;
      end $body$$t$, lookup || '_fill', lookup);
  execute format('create trigger %1$I after insert on %2$I referencing new table as new_rows
      for each statement execute function %1$I()', lookup || '_fill', store);
end $fn$;

select aoc_fill_package_lookup_per_statement('advisory_raw');
select aoc_fill_package_lookup_per_statement('vex_raw');
drop function aoc_fill_package_lookup_per_statement(text);
