-- Tenant administration (/admin/tenants): a tenant can be disabled, which refuses its tokens at
-- once and issues no new ones; its data stays. Clients can be disabled by the API too.
alter table tenants add column disabled boolean not null default false;

-- Clients created through the API for one tenant ('api'), beside the bootstrap's and the config's.
alter table authority_clients drop constraint authority_clients_source_check;
alter table authority_clients add constraint authority_clients_source_check
  check (source in ('bootstrap', 'config', 'api'));

-- The bootstrap administrator held every scope of its day; tenant:admin is new, and it is the
-- platform administrator's.
update authority_clients set scopes = array_append(scopes, 'tenant:admin')
  where client_id = 'stella-admin' and source = 'bootstrap' and not ('tenant:admin' = any(scopes));
