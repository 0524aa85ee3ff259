-- advisory_raw and vex_raw: verbatim upstream documents under the Aggregation-Only Contract (spec §3).
-- The database enforces the contract on its own, declaratively, so a row written by hand with SQL
-- obeys it too (constraint names carry the ERR_AOC code the application reports):
--   * NOT NULL / CHECK on tenant, source, upstream and linkset (err_aoc_004);
--   * the raw text is the record: a CHECK recomputes its SHA-256 (err_aoc_005), and raw_json is a
--     column generated from it;
--   * forbidden derived keys (severity, cvss, effective_*, …) are refused anywhere in the envelope
--     columns (err_aoc_001), never inside the upstream document, where e.g. GHSA's
--     database_specific.severity is legal;
--   * chains are linear and gap-free (err_aoc_003): the id is {table}:{vendor}:{upstream_id}:{revision},
--     revision n > 1 supersedes exactly revision n-1 (CHECK), which must exist (foreign key), and
--     (tenant, vendor, upstream_id, revision) is unique, so a revision can only extend the head;
--   * a content already in the chain is never stored twice (unique idempotency key, spec §3.3);
--   * UPDATE and DELETE are refused (append-only trigger); FORCE RLS by tenant.
-- The constraint set is installed by aoc_apply_constraints() and removed by aoc_remove_constraints(),
-- which ops/sql/apply-aoc-constraints.sql calls for operators (with -v remove=1 for the rollback).

create function aoc_create_raw_table(tbl text) returns void language plpgsql as $fn$
begin
  execute format($ddl$
    create table %1$I (
      tenant text not null,
      id text not null,
      revision integer not null,
      source_vendor text not null,
      source_connector text not null,
      source_version text not null,
      source_stream text,
      upstream_id text not null,
      document_version text,
      retrieved_at timestamptz not null,
      content_hash text not null,
      signature jsonb not null,
      content_format text not null,
      spec_version text not null,
      -- The document exactly as received. Ingestion accepts UTF-8 only, so text holds the bytes losslessly.
      raw text not null,
      -- Parsed copy for queries; jsonb reorders keys and drops duplicates, so it is never the record.
      -- jsonb cannot hold \u0000: such documents keep their raw text and no parsed copy.
      raw_json jsonb generated always as (
        case when strpos(raw, '\u0000') > 0 then null else ltrim(raw, chr(65279))::jsonb end) stored,
      schema_validation jsonb not null,
      identifiers jsonb not null,
      linkset jsonb not null,
      -- Version-less purls of the linkset, for package-level lookups (internal index, not envelope).
      packages text[] not null,
      supersedes text,
      ingested_at timestamptz not null default now(),
      primary key (tenant, id)
    )$ddl$, tbl);
  execute format('create unique index %1$I on %2$I (tenant, source_vendor, upstream_id, revision)', tbl || '_chain', tbl);
  -- The idempotency key (spec §3.3): one row per distinct content of a document.
  execute format('create unique index %1$I on %2$I (tenant, source_vendor, upstream_id, content_hash)', tbl || '_idempotency', tbl);
  -- A row is superseded at most once: chains are linear, and "head" means "not superseded".
  execute format('create unique index %1$I on %2$I (tenant, supersedes) where supersedes is not null', tbl || '_successor', tbl);
  execute format('create index %1$I on %2$I (tenant, ingested_at, id)', tbl || '_by_ingested', tbl);
  execute format('create index %1$I on %2$I using gin ((linkset -> ''aliases''))', tbl || '_by_alias', tbl);
  execute format('create index %1$I on %2$I using gin ((linkset -> ''purls''))', tbl || '_by_purl', tbl);
  execute format('create index %1$I on %2$I using gin (packages)', tbl || '_by_package', tbl);
  execute format('alter table %I enable row level security', tbl);
  execute format('alter table %I force row level security', tbl);
  execute format($p$create policy %1$I on %2$I
      using (tenant = current_setting('app.tenant', true))
      with check (tenant = current_setting('app.tenant', true))$p$, tbl || '_tenant', tbl);
end $fn$;

select aoc_create_raw_table('advisory_raw');
select aoc_create_raw_table('vex_raw');
drop function aoc_create_raw_table(text);

-- Returns the JSON pointer of the first forbidden key in a jsonb value, or null. A cheap textual
-- prefilter skips the recursive walk for the usual clean envelope.
create function aoc_forbidden_key_path(doc jsonb, base text) returns text language plpgsql immutable as $fn$
declare
  k text;
  v jsonb;
  i integer;
  found text;
begin
  if doc is null then return null; end if;
  if jsonb_typeof(doc) is not distinct from 'object' then
    for k, v in select * from jsonb_each(doc) loop
      if k in ('severity', 'cvss', 'cvss_vector', 'merged_state', 'merged_from', 'consensus_provider',
               'risk_score', 'reachability', 'asset_criticality') or k like 'effective\_%' then
        return base || '/' || replace(replace(k, '~', '~0'), '/', '~1');
      end if;
      found := aoc_forbidden_key_path(v, base || '/' || replace(replace(k, '~', '~0'), '/', '~1'));
      if found is not null then return found; end if;
    end loop;
  elsif jsonb_typeof(doc) is not distinct from 'array' then
    for i in 0 .. jsonb_array_length(doc) - 1 loop
      found := aoc_forbidden_key_path(doc -> i, base || '/' || i);
      if found is not null then return found; end if;
    end loop;
  end if;
  return null;
end $fn$;

create function aoc_envelope_violation(signature jsonb, identifiers jsonb, linkset jsonb, schema_validation jsonb)
  returns text language plpgsql immutable as $fn$
declare
  found text;
begin
  -- Keys only appear as "key": in jsonb text; values cannot contain an unescaped quote, so a miss
  -- here proves the absence of forbidden keys without the recursive walk.
  if (signature::text || identifiers::text || linkset::text || schema_validation::text)
       !~ '"(severity|cvss|cvss_vector|merged_state|merged_from|consensus_provider|risk_score|reachability|asset_criticality|effective_[^"]*)":' then
    return null;
  end if;
  found := coalesce(aoc_forbidden_key_path(signature, '/upstream/signature'),
                    aoc_forbidden_key_path(identifiers, '/identifiers'),
                    aoc_forbidden_key_path(linkset, '/linkset'),
                    aoc_forbidden_key_path(schema_validation, '/content/schema_validation'));
  return found;
end $fn$;

create function aoc_raw_refuse_change() returns trigger language plpgsql as $fn$
begin
  raise exception '% is append-only: % refused', tg_table_name, tg_op using errcode = '42501';
end $fn$;

create function aoc_remove_constraints() returns void language plpgsql as $fn$
declare
  tbl text;
  name text;
begin
  foreach tbl in array array['advisory_raw', 'vex_raw'] loop
    foreach name in array array['_err_aoc_004_provenance', '_err_aoc_005_content_hash', '_err_aoc_001_forbidden_field',
                                '_err_aoc_003_chain', '_err_aoc_003_supersedes'] loop
      execute format('alter table %I drop constraint if exists %I', tbl, tbl || name);
    end loop;
    execute format('drop trigger if exists %I on %I', tbl || '_aoc_append_only', tbl);
  end loop;
end $fn$;

create function aoc_apply_constraints() returns void language plpgsql as $fn$
declare
  tbl text;
begin
  perform aoc_remove_constraints();
  foreach tbl in array array['advisory_raw', 'vex_raw'] loop
    execute format($c$alter table %I add constraint %I check (
        tenant ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'
        and length(btrim(source_vendor)) > 0 and length(btrim(source_connector)) > 0
        and length(btrim(source_version)) > 0
        and length(btrim(upstream_id)) > 0
        and content_hash ~ '^sha256:[0-9a-f]{64}$'
        and jsonb_typeof(signature) is not distinct from 'object'
        and jsonb_typeof(signature -> 'present') is not distinct from 'boolean'
        and length(content_format) > 0 and length(spec_version) > 0
        and jsonb_typeof(identifiers) is not distinct from 'object'
        and jsonb_typeof(linkset) is not distinct from 'object'
        and jsonb_typeof(linkset -> 'purls') is not distinct from 'array'
        and jsonb_typeof(linkset -> 'cpes') is not distinct from 'array'
        and jsonb_typeof(linkset -> 'aliases') is not distinct from 'array'
        and jsonb_typeof(linkset -> 'references') is not distinct from 'array'
        and jsonb_typeof(linkset -> 'reconciled_from') is not distinct from 'array')$c$,
      tbl, tbl || '_err_aoc_004_provenance');
    execute format($c$alter table %I add constraint %I check (
        content_hash = 'sha256:' || encode(sha256(convert_to(raw, 'UTF8')), 'hex'))$c$,
      tbl, tbl || '_err_aoc_005_content_hash');
    execute format($c$alter table %I add constraint %I check (
        aoc_envelope_violation(signature, identifiers, linkset, schema_validation) is null)$c$,
      tbl, tbl || '_err_aoc_001_forbidden_field');
    execute format($c$alter table %I add constraint %I check (
        revision > 0
        and id = %L || ':' || source_vendor || ':' || upstream_id || ':' || revision
        and ((revision = 1 and supersedes is null)
          or (revision > 1 and supersedes = %L || ':' || source_vendor || ':' || upstream_id || ':' || (revision - 1))))$c$,
      tbl, tbl || '_err_aoc_003_chain', tbl, tbl);
    execute format('alter table %I add constraint %I foreign key (tenant, supersedes) references %I (tenant, id)',
      tbl, tbl || '_err_aoc_003_supersedes', tbl);
    execute format('create trigger %I before update or delete on %I for each row execute function aoc_raw_refuse_change()',
      tbl || '_aoc_append_only', tbl);
  end loop;
end $fn$;

select aoc_apply_constraints();

-- Resumable connector state: the cursor of the last document each scheduled source committed.
create table aoc_connector_state (
  tenant text not null,
  source_vendor text not null,
  input text not null,
  cursor text,
  updated_at timestamptz not null default now(),
  last_error text,
  primary key (tenant, source_vendor, input)
);
alter table aoc_connector_state enable row level security;
alter table aoc_connector_state force row level security;
create policy aoc_connector_state_tenant on aoc_connector_state
  using (tenant = current_setting('app.tenant', true))
  with check (tenant = current_setting('app.tenant', true));
