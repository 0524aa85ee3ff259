-- The alias lookup of 0004 and the package lookup of 0003 filled once per statement instead of once
-- per row (issue 17): a batch of 200 documents ran each row trigger's function, and its INSERT, 200
-- times. A statement trigger reads the statement's rows from its transition table and writes them
-- with one INSERT … SELECT: the same rows as the row trigger for every way rows reach a store (the
-- connector's COPY-staged INSERT … SELECT, PGlite's INSERT over unnest(), a mirror import, a
-- hand-written INSERT or COPY), visible at the same moment (row AFTER triggers also run at the end of
-- the statement), and in the same transaction. Like the row trigger it runs as the inserting role, so
-- each lookup's tenant policy checks every row it writes. Triggers and functions keep their names;
-- the lookups' rows need no backfill.

-- Replaces the fill trigger of `lookup` on `store` by a statement trigger whose function inserts
-- `rows` (a SELECT over new_rows r giving tenant, value, id) into the lookup's `value_column`.
create function aoc_fill_lookup_per_statement(store text, lookup text, value_column text, rows text)
returns void language plpgsql as $fn$
begin
  execute format('drop trigger %I on %I', lookup || '_fill', store);
  execute format($t$create or replace function %1$I() returns trigger language plpgsql as $body$
      begin
        insert into %2$I (tenant, %3$I, id) %4$s
          on conflict do nothing;
        return null;
      end $body$$t$, lookup || '_fill', lookup, value_column, rows);
  execute format('create trigger %1$I after insert on %2$I referencing new table as new_rows
      for each statement execute function %1$I()', lookup || '_fill', store);
end $fn$;

select aoc_fill_lookup_per_statement(store, store || '_alias', 'alias',
  $q$select distinct r.tenant, a.alias, r.id
       from new_rows r cross join lateral jsonb_array_elements_text(
         case when jsonb_typeof(r.linkset -> 'aliases') = 'array' then r.linkset -> 'aliases' else '[]'::jsonb end) as a(alias)$q$)
  from unnest(array['advisory_raw', 'vex_raw']) as store;
select aoc_fill_lookup_per_statement(store, store || '_package', 'package',
  $q$select distinct r.tenant, p.package, r.id from new_rows r cross join lateral unnest(r.packages) as p(package)$q$)
  from unnest(array['advisory_raw', 'vex_raw']) as store;
drop function aoc_fill_lookup_per_statement(text, text, text, text);
