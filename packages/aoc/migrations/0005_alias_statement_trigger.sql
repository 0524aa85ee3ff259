-- The alias lookup of 0004 filled once per statement instead of once per row (issue 17): a batch of
-- 200 documents ran the row trigger's function, and its INSERT, 200 times. The statement trigger reads
-- the statement's rows from its transition table and writes them with one INSERT … SELECT: the same
-- rows as the row trigger for every way rows reach a store (the connector's COPY-staged INSERT …
-- SELECT, PGlite's INSERT over unnest(), a mirror import, a hand-written INSERT or COPY), visible at
-- the same moment (row AFTER triggers also run at the end of the statement), and in the same
-- transaction. Like the row trigger it runs as the inserting role, so the lookup's tenant policy checks
-- every row it writes. Trigger and function keep their names; the lookup's rows need no backfill.

create function aoc_fill_alias_lookup_per_statement(store text) returns void language plpgsql as $fn$
declare
  lookup text := store || '_alias';
begin
  execute format('drop trigger %I on %I', lookup || '_fill', store);
  execute format($t$create or replace function %1$I() returns trigger language plpgsql as $body$
      begin
        insert into %2$I (tenant, alias, id)
          select distinct r.tenant, a.alias, r.id
            from new_rows r cross join lateral jsonb_array_elements_text(
              case when jsonb_typeof(r.linkset -> 'aliases') = 'array' then r.linkset -> 'aliases' else '[]'::jsonb end) as a(alias)
          on conflict do nothing;
        return null;
      end $body$$t$, lookup || '_fill', lookup);
  execute format('create trigger %1$I after insert on %2$I referencing new table as new_rows
      for each statement execute function %1$I()', lookup || '_fill', store);
end $fn$;

select aoc_fill_alias_lookup_per_statement('advisory_raw');
select aoc_fill_alias_lookup_per_statement('vex_raw');
drop function aoc_fill_alias_lookup_per_statement(text);
