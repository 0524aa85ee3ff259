// Token signing keys: one active Ed25519 key signs; retired keys stay published in the JWKS until
// every token they signed has expired (retired_at + longest token lifetime + clock skew), then go.
import type { Db, Queryable } from '@stella/platform';
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
} from 'jose';
import {
  DELETE_EXPIRED_KEYS,
  INSERT_ACTIVE_KEY,
  RETIRE_ACTIVE_KEY,
  SELECT_ACTIVE_KEY,
  SELECT_PUBLISHED_KEYS,
} from './sql/keys.ts';

export const SIGNING_ALG = 'EdDSA';

export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
}

export interface RotateKeysOptions {
  /** Longest lifetime of a token signed by the outgoing key (auth.tokenTtlSeconds). */
  maxTokenLifetimeSeconds: number;
  /** auth.clockSkewSeconds: verifiers accept tokens this long past exp. */
  skewSeconds: number;
  now: Date;
}

export interface RotationResult {
  kid: string;
  retired: string[];
  pruned: string[];
}

interface GeneratedKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

/** Returns the active signing key, creating the first one if there is none. */
export async function ensureActiveKey(db: Db, now: Date = new Date()): Promise<SigningKey> {
  const existing = await loadActiveKey(db);
  if (existing) return existing;
  const key = await generateSigningKey();
  // Inserting loses quietly to a concurrent first start; either way one active key exists afterwards.
  await db.query(INSERT_ACTIVE_KEY, [
    key.kid,
    SIGNING_ALG,
    JSON.stringify(key.privateJwk),
    JSON.stringify(key.publicJwk),
    now,
  ]);
  const active = await loadActiveKey(db);
  if (!active) throw new Error('no active signing key after creating one; is authority_signing_keys writable?');
  return active;
}

async function loadActiveKey(db: Queryable): Promise<SigningKey | undefined> {
  const { rows } = await db.query<{ kid: string; alg: string; private_jwk: JWK }>(SELECT_ACTIVE_KEY);
  const row = rows[0];
  if (!row) return undefined;
  const privateKey = (await importJWK(asObject(row.private_jwk), row.alg)) as CryptoKey;
  return { kid: row.kid, alg: row.alg, privateKey };
}

/**
 * Makes a new key active and retires the current one in one transaction, so there is never a moment
 * with no active key or two. Retired keys past their not_after are pruned in the same step.
 */
export async function rotateKeys(db: Db, options: RotateKeysOptions): Promise<RotationResult> {
  const { now } = options;
  if (!(options.maxTokenLifetimeSeconds > 0) || !(options.skewSeconds >= 0)) {
    throw new Error('rotateKeys needs maxTokenLifetimeSeconds > 0 and skewSeconds >= 0');
  }
  const notAfter = new Date(now.getTime() + (options.maxTokenLifetimeSeconds + options.skewSeconds) * 1000);
  const key = await generateSigningKey();
  return db.transaction(async (tx) => {
    const retired = await tx.query<{ kid: string }>(RETIRE_ACTIVE_KEY, [now, notAfter]);
    await tx.query(INSERT_ACTIVE_KEY, [
      key.kid,
      SIGNING_ALG,
      JSON.stringify(key.privateJwk),
      JSON.stringify(key.publicJwk),
      now,
    ]);
    const pruned = await tx.query<{ kid: string }>(DELETE_EXPIRED_KEYS, [now]);
    return { kid: key.kid, retired: retired.rows.map((r) => r.kid), pruned: pruned.rows.map((r) => r.kid) };
  });
}

/** Deletes retired keys whose tokens have all expired. */
export async function pruneExpiredKeys(db: Db, now: Date): Promise<string[]> {
  const { rows } = await db.query<{ kid: string }>(DELETE_EXPIRED_KEYS, [now]);
  return rows.map((r) => r.kid);
}

/** The public key set verifiers use: the active key and retired keys still within their not_after. */
export async function jwks(db: Queryable, now: Date = new Date()): Promise<JSONWebKeySet> {
  const { rows } = await db.query<{ kid: string; alg: string; public_jwk: JWK }>(SELECT_PUBLISHED_KEYS, [now]);
  return { keys: rows.map((r) => ({ ...asObject(r.public_jwk), kid: r.kid, alg: r.alg, use: 'sig' })) };
}

async function generateSigningKey(): Promise<GeneratedKey> {
  const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  // The thumbprint (RFC 7638) names the key by its content, so a kid can never point at two keys.
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: SIGNING_ALG };
  return { kid, privateJwk, publicJwk: { ...publicJwk, kid, alg: SIGNING_ALG, use: 'sig' } };
}

/** jsonb arrives parsed from pg and PGlite; accept a string too in case a driver hands back text. */
function asObject(value: JWK | string): JWK {
  return typeof value === 'string' ? (JSON.parse(value) as JWK) : value;
}
