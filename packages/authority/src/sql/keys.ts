// SQL for the signing-key aggregate: one active key, retired keys kept until their tokens expired.

export const SELECT_ACTIVE_KEY = `select kid, alg, private_jwk, private_key_sealed
  from authority_signing_keys where status = 'active'`;

/** Conflicts (and inserts nothing) when another process created the active key first. $3 is sealed. */
export const INSERT_ACTIVE_KEY = `insert into authority_signing_keys (kid, alg, private_key_sealed, public_jwk, status, created_at)
  values ($1, $2, $3, $4::jsonb, 'active', $5)
  on conflict do nothing
  returning kid`;

/** One sealed value per KEK id, enough to tell which KEKs the stored keys need. */
export const SELECT_SEALED_SAMPLES = `select distinct on (split_part(private_key_sealed, ':', 2)) private_key_sealed as sealed
  from authority_signing_keys where private_key_sealed is not null`;

/** Keys written before sealing existed; locked so two starting processes seal each once. */
export const SELECT_PLAINTEXT_KEYS = `select kid, status, private_jwk from authority_signing_keys
  where private_jwk is not null order by kid for update`;

export const SEAL_KEY = `update authority_signing_keys set private_key_sealed = $2, private_jwk = null where kid = $1`;

export const RETIRE_ACTIVE_KEY = `update authority_signing_keys
  set status = 'retired', retired_at = $1, not_after = $2
  where status = 'active'
  returning kid`;

/** Active first, then newest retired: verifiers try keys by kid, the order only helps humans reading it. */
export const SELECT_PUBLISHED_KEYS = `select kid, alg, public_jwk from authority_signing_keys
  where status = 'active' or not_after > $1
  order by (status = 'active') desc, created_at desc, kid`;

export const DELETE_EXPIRED_KEYS = `delete from authority_signing_keys
  where status = 'retired' and not_after <= $1
  returning kid`;
