-- Signals: callgraphs, runtime ingests and aggregated runtime facts, reachability facts and unknowns.
-- Every table is tenant-owned: tenant first in every key, FORCE ROW LEVEL SECURITY on app.tenant.

-- One row per distinct graph of a tenant; the graph itself lives in CAS (canonical JSON + CSR).
create table signals_callgraphs (
  tenant text not null check (tenant ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'),
  callgraph_id text not null check (callgraph_id ~ '^cg-[0-9a-z]{26}$'),
  graph_hash text not null check (graph_hash ~ '^sha256:[0-9a-f]{64}$'),
  format text not null,
  language text not null,
  component text not null,
  version text not null,
  node_count integer not null check (node_count >= 0),
  edge_count integer not null check (edge_count >= 0),
  entrypoint_count integer not null check (entrypoint_count >= 0),
  packages text[] not null,
  cas_uri text not null,
  csr_uri text not null,
  manifest_uri text not null,
  dsse_uri text not null,
  signer_keyid text not null,
  analysis_id text,
  created_at timestamptz not null default now(),
  primary key (tenant, callgraph_id),
  unique (tenant, graph_hash)
);

-- A subject (scan, image or component+version) observed against one callgraph.
create table signals_subjects (
  tenant text not null,
  subject_key text not null check (length(subject_key) between 1 and 512),
  callgraph_id text not null,
  subject jsonb not null,
  -- Bumped on every runtime batch that changed the aggregate; the recompute compares it.
  runtime_version bigint not null default 0,
  targets jsonb,
  updated_at timestamptz not null default now(),
  primary key (tenant, subject_key),
  foreign key (tenant, callgraph_id) references signals_callgraphs (tenant, callgraph_id)
);

-- Every accepted (or parked) runtime batch; the unique keys make retries idempotent.
create table signals_runtime_ingests (
  tenant text not null,
  ingest_id text not null check (ingest_id ~ '^[A-Za-z0-9._:-]{1,128}$'),
  subject_key text not null,
  callgraph_id text,
  graph_hash text,
  content_sha256 text not null check (content_sha256 ~ '^sha256:[0-9a-f]{64}$'),
  cas_uri text not null,
  event_count integer not null,
  symbol_count integer not null,
  source text not null,
  analysis_id text,
  subject jsonb not null,
  -- applied: counted into signals_runtime_facts; orphan: waiting for its graph to arrive.
  status text not null check (status in ('applied', 'orphan')),
  received_at timestamptz not null default now(),
  applied_at timestamptz,
  primary key (tenant, ingest_id),
  unique (tenant, subject_key, content_sha256)
);
create index signals_runtime_orphans on signals_runtime_ingests (tenant, graph_hash) where status = 'orphan';

create table signals_runtime_facts (
  tenant text not null,
  subject_key text not null,
  symbol_id text not null,
  hit_count bigint not null check (hit_count >= 0),
  first_seen timestamptz,
  last_seen timestamptz,
  in_graph boolean not null,
  primary key (tenant, subject_key, symbol_id)
);

-- The current reachability fact per subject; each change bumps fact_version and emits an event.
create table signals_facts (
  tenant text not null,
  subject_key text not null,
  callgraph_id text not null,
  fact_version bigint not null check (fact_version > 0),
  digest text not null check (digest ~ '^sha256:[0-9a-f]{64}$'),
  cas_uri text not null,
  inputs_digest text not null,
  score double precision not null,
  unknowns_count integer not null,
  document jsonb not null,
  computed_at timestamptz not null,
  primary key (tenant, subject_key)
);

-- Unknowns: reasons the engine could not decide, plus those reported by producers (POST /signals/unknowns).
create table signals_unknowns (
  tenant text not null,
  subject_key text not null,
  symbol_id text not null,
  reason text not null,
  origin text not null check (origin in ('engine', 'reported')),
  callgraph_id text,
  advisory_id text,
  created_at timestamptz not null default now(),
  primary key (tenant, subject_key, origin, symbol_id, reason)
);

alter table signals_callgraphs enable row level security;
alter table signals_callgraphs force row level security;
create policy signals_callgraphs_tenant on signals_callgraphs
  using (tenant = current_setting('app.tenant', true))
  with check (tenant = current_setting('app.tenant', true));
alter table signals_subjects enable row level security;
alter table signals_subjects force row level security;
create policy signals_subjects_tenant on signals_subjects
  using (tenant = current_setting('app.tenant', true))
  with check (tenant = current_setting('app.tenant', true));
alter table signals_runtime_ingests enable row level security;
alter table signals_runtime_ingests force row level security;
create policy signals_runtime_ingests_tenant on signals_runtime_ingests
  using (tenant = current_setting('app.tenant', true))
  with check (tenant = current_setting('app.tenant', true));
alter table signals_runtime_facts enable row level security;
alter table signals_runtime_facts force row level security;
create policy signals_runtime_facts_tenant on signals_runtime_facts
  using (tenant = current_setting('app.tenant', true))
  with check (tenant = current_setting('app.tenant', true));
alter table signals_facts enable row level security;
alter table signals_facts force row level security;
create policy signals_facts_tenant on signals_facts
  using (tenant = current_setting('app.tenant', true))
  with check (tenant = current_setting('app.tenant', true));
alter table signals_unknowns enable row level security;
alter table signals_unknowns force row level security;
create policy signals_unknowns_tenant on signals_unknowns
  using (tenant = current_setting('app.tenant', true))
  with check (tenant = current_setting('app.tenant', true));
