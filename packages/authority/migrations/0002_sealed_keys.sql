-- Token signing keys are stored sealed (AES-256-GCM) under the key-encryption key kept outside the
-- database ($STELLA_HOME/keys/kek, STELLA_KEK or auth.kekPath). Rows written before this migration keep
-- private_jwk until the next start seals them, empties that column and retires the key.
alter table authority_signing_keys alter column private_jwk drop not null;
alter table authority_signing_keys add column private_key_sealed text;
alter table authority_signing_keys add constraint authority_signing_keys_private_key_once
  check ((private_jwk is null) <> (private_key_sealed is null));

-- A fast check of a client secret the client has presented correctly before: HMAC-SHA256 under a key
-- derived from the KEK, over the client id, the current secret hash and the secret. It lets a client
-- that knows its secret through while guessers of the same client id are throttled, without scrypt.
-- Useless without the KEK, and whoever holds the KEK and the database can already sign tokens.
alter table authority_clients add column secret_verifier text;

-- The metrics:read scope (GET /metrics) joins the catalogue; the bootstrap admin client gets it as it
-- got every scope when it was created.
update authority_clients set scopes = scopes || '{metrics:read}'::text[]
  where client_id = 'stella-admin' and source = 'bootstrap' and not ('metrics:read' = any(scopes));
