-- SBOM storage (issue 13 item 1): the document's identity and provenance, its components with the
-- coordinates the matcher looks up, and its dependency edges. The verbatim bytes live in the CAS
-- (raw_uri); these rows are what was read from them. Like AOC's raw stores: append-only (a trigger
-- refuses UPDATE and DELETE, so a stored SBOM is evidence that cannot be rewritten) and FORCE row
-- level security by tenant on every table (the app role owns them, so FORCE is what binds it).

create table sbom_document (
  tenant text not null,
  -- sbom:sha256:<hex of the raw bytes>: the same bytes are the same SBOM, so a re-ingest is a no-op.
  id text not null check (id = 'sbom:' || content_hash),
  subject_key text not null check (length(subject_key) > 0),
  format text not null check (format in ('cyclonedx', 'spdx')),
  spec_version text not null,
  document_id text,
  content_hash text not null check (content_hash ~ '^sha256:[0-9a-f]{64}$'),
  raw_uri text not null,
  size bigint not null check (size >= 0),
  component_count integer not null check (component_count >= 0),
  edge_count integer not null check (edge_count >= 0),
  root jsonb,
  issues jsonb not null check (jsonb_typeof(issues) = 'array'),
  provenance jsonb not null check (jsonb_typeof(provenance) = 'object'),
  ingested_at timestamptz not null,
  primary key (tenant, id)
);
create index sbom_document_by_ingested on sbom_document (tenant, ingested_at desc, id desc);
create index sbom_document_by_subject on sbom_document (tenant, subject_key, ingested_at desc, id desc);

create table sbom_component (
  tenant text not null,
  sbom_id text not null,
  -- Position in the document: the root (when named) is 0, the components follow in document order.
  ord integer not null check (ord >= 0),
  ref text not null,
  name text not null,
  version text,
  purl text,
  ecosystem text,
  package_name text not null,
  identified_by text not null check (identified_by in ('purl', 'name-version')),
  is_root boolean not null,
  primary key (tenant, sbom_id, ord),
  foreign key (tenant, sbom_id) references sbom_document (tenant, id)
);
-- The matcher's lookup: every component of a package in an ecosystem, across the tenant's SBOMs.
create index sbom_component_by_package on sbom_component (tenant, ecosystem, package_name);

create table sbom_edge (
  tenant text not null,
  sbom_id text not null,
  from_ord integer not null,
  to_ord integer not null,
  primary key (tenant, sbom_id, from_ord, to_ord),
  foreign key (tenant, sbom_id, from_ord) references sbom_component (tenant, sbom_id, ord),
  foreign key (tenant, sbom_id, to_ord) references sbom_component (tenant, sbom_id, ord)
);

create function findings_sbom_refuse_change() returns trigger language plpgsql as $fn$
begin
  raise exception '% is append-only: % refused', tg_table_name, tg_op using errcode = '42501';
end $fn$;

create trigger sbom_document_append_only before update or delete on sbom_document
  for each row execute function findings_sbom_refuse_change();
create trigger sbom_component_append_only before update or delete on sbom_component
  for each row execute function findings_sbom_refuse_change();
create trigger sbom_edge_append_only before update or delete on sbom_edge
  for each row execute function findings_sbom_refuse_change();

alter table sbom_document enable row level security;
alter table sbom_document force row level security;
create policy sbom_document_tenant on sbom_document
  using (tenant = current_setting('app.tenant', true))
  with check (tenant = current_setting('app.tenant', true));
alter table sbom_component enable row level security;
alter table sbom_component force row level security;
create policy sbom_component_tenant on sbom_component
  using (tenant = current_setting('app.tenant', true))
  with check (tenant = current_setting('app.tenant', true));
alter table sbom_edge enable row level security;
alter table sbom_edge force row level security;
create policy sbom_edge_tenant on sbom_edge
  using (tenant = current_setting('app.tenant', true))
  with check (tenant = current_setting('app.tenant', true));
