-- The tenants whose rows reference CAS objects, for CAS maintenance (platform migration 0006).
create trigger signals_callgraphs_cas_tenant after insert on signals_callgraphs
  for each statement execute function cas_note_tenant();
create trigger signals_runtime_ingests_cas_tenant after insert on signals_runtime_ingests
  for each statement execute function cas_note_tenant();
create trigger signals_facts_cas_tenant after insert on signals_facts
  for each statement execute function cas_note_tenant();
-- Existing tenants; the owner is exempt from row-level security only while it is not forced.
alter table signals_callgraphs no force row level security;
alter table signals_runtime_ingests no force row level security;
alter table signals_facts no force row level security;
insert into cas_tenants (tenant)
  select tenant from signals_callgraphs
  union select tenant from signals_runtime_ingests
  union select tenant from signals_facts
  on conflict do nothing;
alter table signals_callgraphs force row level security;
alter table signals_runtime_ingests force row level security;
alter table signals_facts force row level security;
