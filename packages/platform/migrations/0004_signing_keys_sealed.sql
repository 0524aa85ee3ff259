-- Private signing keys are stored sealed (AES-256-GCM) under the key-encryption key kept outside the
-- database ($STELLA_HOME/keys/kek, STELLA_KEK or auth.kekPath). Rows written before this migration keep
-- their PKCS#8 PEM in private_key_pem until the next start seals them and empties that column.
alter table signing_keys alter column private_key_pem drop not null;
alter table signing_keys add column private_key_sealed text;
alter table signing_keys add constraint signing_keys_private_key_once
  check ((private_key_pem is null) <> (private_key_sealed is null));

-- Sealing at start-up walks every tenant's keys in one transaction. Only a transaction that sets
-- app.key_maintenance sees them all; request handling sets app.tenant alone and stays confined to it.
create policy signing_keys_key_maintenance on signing_keys
  using (current_setting('app.key_maintenance', true) = 'on')
  with check (current_setting('app.key_maintenance', true) = 'on');
