-- A btree lookup from alias (CVE, GHSA and the other ids a linkset names) to raw record, for the
-- doors that find documents by alias: `GET /advisories/raw?cve=|alias=`, `/vex/raw?alias=` and
-- `/v1/lnm/linksets?cve=|ghsa=|alias=`. The reason is 0003's: under row-level security the GIN
-- index behind `linkset -> 'aliases' ? $1` is never used for the app role (`?` is not leakproof),
-- so each lookup read the tenant's whole store: 40 ms at 23,000 advisories on PostgreSQL, and it
-- grows with the store. Text equality is leakproof, so `alias = $1` walks this table's key.
--
-- One row per (record, alias of its linkset), written by a trigger in the transaction that writes
-- the record, and backfilled here. Derived data under the same tenant policy as the stores; the raw
-- stores stay the only source of truth.

create function aoc_create_alias_lookup(store text) returns void language plpgsql as $fn$
declare
  lookup text := store || '_alias';
begin
  execute format($ddl$
    create table %1$I (
      tenant text not null,
      alias text not null,
      id text not null,
      primary key (tenant, alias, id)
    )$ddl$, lookup);
  execute format($fill$insert into %1$I (tenant, alias, id)
      select distinct r.tenant, a.alias, r.id
        from %2$I r cross join lateral jsonb_array_elements_text(
          case when jsonb_typeof(r.linkset -> 'aliases') = 'array' then r.linkset -> 'aliases' else '[]'::jsonb end) as a(alias)$fill$,
    lookup, store);
  execute format('alter table %I enable row level security', lookup);
  execute format('alter table %I force row level security', lookup);
  execute format($p$create policy %1$I on %2$I
      using (tenant = current_setting('app.tenant', true))
      with check (tenant = current_setting('app.tenant', true))$p$, lookup || '_tenant', lookup);
  execute format($t$create function %1$I() returns trigger language plpgsql as $body$
      begin
        insert into %2$I (tenant, alias, id)
          select distinct new.tenant, a, new.id
            from jsonb_array_elements_text(
              case when jsonb_typeof(new.linkset -> 'aliases') = 'array' then new.linkset -> 'aliases' else '[]'::jsonb end) as a
          on conflict do nothing;
        return null;
      end $body$$t$, lookup || '_fill', lookup);
  execute format('create trigger %1$I after insert on %2$I for each row execute function %3$I()',
    lookup || '_fill', store, lookup || '_fill');
end $fn$;

select aoc_create_alias_lookup('advisory_raw');
select aoc_create_alias_lookup('vex_raw');
drop function aoc_create_alias_lookup(text);
