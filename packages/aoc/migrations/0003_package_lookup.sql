-- A btree lookup from package to raw record, for the doors that find documents by package
-- (advisoriesForPackages, vexForPackages). Why a table and not the GIN index on `packages`: under
-- row-level security PostgreSQL only lets leakproof operators use an index before the policy's
-- filter, and array overlap (&&) is not leakproof, so for the app role that index is never used and
-- every lookup read the tenant's whole store (2.7 s for 5,000 packages among 100,000 advisories).
-- Text equality is leakproof: `package = any($1)` walks this table's primary key.
--
-- One row per (record, package-level purl of its linkset), written by a trigger in the transaction
-- that writes the record, and backfilled here for the records already stored. Derived data, kept
-- under the same tenant policy as the stores; the raw stores stay the only source of truth.

create function aoc_create_package_lookup(store text) returns void language plpgsql as $fn$
declare
  lookup text := store || '_package';
begin
  execute format($ddl$
    create table %1$I (
      tenant text not null,
      package text not null,
      id text not null,
      primary key (tenant, package, id)
    )$ddl$, lookup);
  execute format('insert into %1$I (tenant, package, id) select distinct tenant, unnest(packages), id from %2$I',
    lookup, store);
  execute format('alter table %I enable row level security', lookup);
  execute format('alter table %I force row level security', lookup);
  execute format($p$create policy %1$I on %2$I
      using (tenant = current_setting('app.tenant', true))
      with check (tenant = current_setting('app.tenant', true))$p$, lookup || '_tenant', lookup);
  execute format($t$create function %1$I() returns trigger language plpgsql as $body$
      begin
        insert into %2$I (tenant, package, id)
          select distinct new.tenant, p, new.id from unnest(new.packages) as p
          on conflict do nothing;
        return null;
      end $body$$t$, lookup || '_fill', lookup);
  execute format('create trigger %1$I after insert on %2$I for each row execute function %3$I()',
    lookup || '_fill', store, lookup || '_fill');
end $fn$;

select aoc_create_package_lookup('advisory_raw');
select aoc_create_package_lookup('vex_raw');
drop function aoc_create_package_lookup(text);
