-- The tenants whose SBOMs are stored in CAS, for CAS maintenance (platform migration 0006).
create trigger sbom_document_cas_tenant after insert on sbom_document
  for each statement execute function cas_note_tenant();
-- Existing tenants; the owner is exempt from row-level security only while it is not forced.
alter table sbom_document no force row level security;
insert into cas_tenants (tenant) select distinct tenant from sbom_document on conflict do nothing;
alter table sbom_document force row level security;
