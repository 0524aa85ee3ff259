// SQL for the signing-key aggregate: one active key, retired keys kept until their tokens expired.

export const SELECT_ACTIVE_KEY = `select kid, alg, private_jwk from authority_signing_keys where status = 'active'`;

/** Conflicts (and inserts nothing) when another process created the active key first. */
export const INSERT_ACTIVE_KEY = `insert into authority_signing_keys (kid, alg, private_jwk, public_jwk, status, created_at)
  values ($1, $2, $3::jsonb, $4::jsonb, 'active', $5)
  on conflict do nothing
  returning kid`;

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
