-- Client secret rotation with an overlap window (seed 004 §3, §5: the verifier's secret is rotated
-- quarterly): the secret a rotation replaced keeps working until previous_secret_expires_at, so
-- consumers can move to the new one without a gap. Only its scrypt hash is kept, like the current one.
alter table authority_clients
  add column previous_secret_hash text check (previous_secret_hash like 'scrypt$%'),
  add column previous_secret_expires_at timestamptz,
  add constraint authority_clients_previous_secret_pair
    check ((previous_secret_hash is null) = (previous_secret_expires_at is null));
