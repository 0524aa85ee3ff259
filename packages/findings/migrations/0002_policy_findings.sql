-- Policy snapshots and stored findings (issue 13 items 4 and 5).
--
-- A policy snapshot is immutable: its id is the sha256 of the policy's canonical JSON, the YAML it
-- was read from is kept as sent, and a DSSE envelope signs the canonical JSON with the tenant's
-- `findings-policy` key. Snapshots are append-only like the SBOMs. Which snapshot a tenant's
-- findings are evaluated under is an append-only history of activations; the newest one rules.
--
-- A stored finding is the current answer for one subject, component and vulnerability: the latest
-- SBOM of the subject matched, joined with VEX and reachability and evaluated under the active
-- snapshot. Recomputes replace these rows (they are a view kept up to date, not evidence); each
-- change of verdict is recorded on the timeline as `policy.verdict`, which is the history.

create table policy_snapshot (
  tenant text not null,
  id text not null check (id ~ '^sha256:[0-9a-f]{64}$'),
  name text not null check (length(name) > 0),
  source text not null,
  policy jsonb not null check (jsonb_typeof(policy) = 'object'),
  envelope jsonb not null check (jsonb_typeof(envelope) = 'object'),
  signer_keyid text not null,
  created_by text not null,
  created_at timestamptz not null,
  primary key (tenant, id)
);
create index policy_snapshot_by_created on policy_snapshot (tenant, created_at desc, id desc);

create table policy_activation (
  tenant text not null,
  seq bigint not null check (seq > 0),
  snapshot_id text not null,
  activated_by text not null,
  activated_at timestamptz not null,
  primary key (tenant, seq),
  foreign key (tenant, snapshot_id) references policy_snapshot (tenant, id)
);

-- 0001's refusal names the table it fires on, so it serves these tables too.
create trigger policy_snapshot_append_only before update or delete on policy_snapshot
  for each row execute function findings_sbom_refuse_change();
create trigger policy_activation_append_only before update or delete on policy_activation
  for each row execute function findings_sbom_refuse_change();

create table finding (
  tenant text not null,
  -- finding:<sha256 hex of subject key, purl and vulnerability id>: stable across SBOM versions of the
  -- subject, so a verdict change is the same finding's.
  id text not null check (id ~ '^finding:[0-9a-f]{64}$'),
  subject_key text not null,
  sbom_id text not null,
  purl text not null,
  vulnerability_id text not null,
  severity text not null check (severity in ('critical', 'high', 'medium', 'low', 'none', 'unknown')),
  reachability text not null check (reachability in ('reachable', 'unreachable', 'unknown')),
  vex_status text not null,
  -- Null when the tenant has no active policy snapshot.
  verdict text check (verdict in ('pass', 'warn', 'fail')),
  rule text,
  snapshot_id text,
  fact_digest text,
  -- The finding with its evidence and decision, as GET /findings/{id} answers it.
  document jsonb not null check (jsonb_typeof(document) = 'object'),
  evaluated_at timestamptz not null,
  primary key (tenant, id),
  foreign key (tenant, sbom_id) references sbom_document (tenant, id)
);
create index finding_by_subject on finding (tenant, subject_key, id);
create index finding_by_verdict on finding (tenant, verdict, id);

alter table policy_snapshot enable row level security;
alter table policy_snapshot force row level security;
create policy policy_snapshot_tenant on policy_snapshot
  using (tenant = current_setting('app.tenant', true))
  with check (tenant = current_setting('app.tenant', true));
alter table policy_activation enable row level security;
alter table policy_activation force row level security;
create policy policy_activation_tenant on policy_activation
  using (tenant = current_setting('app.tenant', true))
  with check (tenant = current_setting('app.tenant', true));
alter table finding enable row level security;
alter table finding force row level security;
create policy finding_tenant on finding
  using (tenant = current_setting('app.tenant', true))
  with check (tenant = current_setting('app.tenant', true));
