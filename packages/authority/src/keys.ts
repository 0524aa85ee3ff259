// Token signing keys: one active Ed25519 key signs; retired keys stay published in the JWKS until
// every token they signed has expired (retired_at + longest token lifetime + clock skew), then go.
// The private JWK is stored only sealed under the key-encryption key (KEK) kept outside the database.
import { systemClock } from '@stella/core';
import { type Db, type KeyEncryptionKey, keyEncryptionKeyFor, type Queryable, sealedKekId } from '@stella/platform';
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
  SEAL_KEY,
  SELECT_ACTIVE_KEY,
  SELECT_PLAINTEXT_KEYS,
  SELECT_PUBLISHED_KEYS,
  SELECT_SEALED_SAMPLES,
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
export async function ensureActiveKey(
  db: Db,
  now: Date = systemClock.now(),
  kek: KeyEncryptionKey = keyEncryptionKeyFor(db),
): Promise<SigningKey> {
  const existing = await loadActiveKey(db, kek);
  if (existing) return existing;
  const key = await generateSigningKey();
  // Inserting loses quietly to a concurrent first start; either way one active key exists afterwards.
  await db.query(INSERT_ACTIVE_KEY, [key.kid, SIGNING_ALG, sealJwk(kek, key), JSON.stringify(key.publicJwk), now]);
  const active = await loadActiveKey(db, kek);
  if (!active) throw new Error('no active signing key after creating one; is authority_signing_keys writable?');
  return active;
}

async function loadActiveKey(db: Queryable, kek: KeyEncryptionKey): Promise<SigningKey | undefined> {
  const { rows } = await db.query<{
    kid: string;
    alg: string;
    private_jwk: JWK | string | null;
    private_key_sealed: string | null;
  }>(SELECT_ACTIVE_KEY);
  const row = rows[0];
  if (!row) return undefined;
  // A plaintext row was written before keys were sealed; the next start seals and retires it.
  const jwk = row.private_key_sealed
    ? (JSON.parse(kek.open(row.private_key_sealed, sealingContext(row.kid))) as JWK)
    : asObject(row.private_jwk!);
  const privateKey = (await importJWK(jwk, row.alg)) as CryptoKey;
  return { kid: row.kid, alg: row.alg, privateKey };
}

/** Additional data of a sealed key: a sealed value moved to another kid fails to open. */
function sealingContext(kid: string): string {
  return `authority-signing-key\u0000${kid}`;
}

function sealJwk(kek: KeyEncryptionKey, key: GeneratedKey): string {
  return kek.seal(JSON.stringify(key.privateJwk), sealingContext(key.kid));
}

/** Ids of the KEKs the stored token signing keys are sealed with (normally one, or none yet). */
export async function sealedAuthorityKekIds(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ sealed: string }>(SELECT_SEALED_SAMPLES);
  return [...new Set(rows.map((r) => sealedKekId(r.sealed) ?? 'unreadable'))].sort();
}

export interface SealPlaintextKeysResult {
  /** Keys that were stored in plaintext and are sealed now. */
  sealed: string[];
  /** Set when the active key was one of them: it is retired and this new key signs from now on. */
  rotatedTo: string | undefined;
}

/**
 * Seals keys written before sealing existed, in one transaction; a second run finds none. Their
 * plaintext may survive in old WAL segments, dumps and backups, so an active one is also retired:
 * it stays in the JWKS until its tokens expired, and a copy taken earlier then signs nothing anyone
 * accepts.
 */
export async function sealPlaintextKeys(
  db: Db,
  kek: KeyEncryptionKey,
  options: RotateKeysOptions,
): Promise<SealPlaintextKeysResult> {
  const replacement = await generateSigningKey();
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ kid: string; status: string; private_jwk: JWK | string }>(SELECT_PLAINTEXT_KEYS);
    for (const row of rows) {
      await tx.query(SEAL_KEY, [row.kid, kek.seal(JSON.stringify(asObject(row.private_jwk)), sealingContext(row.kid))]);
    }
    let rotatedTo: string | undefined;
    if (rows.some((r) => r.status === 'active')) {
      await retireAndInsert(tx, kek, replacement, options);
      rotatedTo = replacement.kid;
    }
    return { sealed: rows.map((r) => r.kid), rotatedTo };
  });
}

async function retireAndInsert(
  tx: Queryable,
  kek: KeyEncryptionKey,
  key: GeneratedKey,
  options: RotateKeysOptions,
): Promise<{ retired: string[]; pruned: string[] }> {
  const { now } = options;
  const notAfter = new Date(now.getTime() + (options.maxTokenLifetimeSeconds + options.skewSeconds) * 1000);
  const retired = await tx.query<{ kid: string }>(RETIRE_ACTIVE_KEY, [now, notAfter]);
  await tx.query(INSERT_ACTIVE_KEY, [key.kid, SIGNING_ALG, sealJwk(kek, key), JSON.stringify(key.publicJwk), now]);
  const pruned = await tx.query<{ kid: string }>(DELETE_EXPIRED_KEYS, [now]);
  return { retired: retired.rows.map((r) => r.kid), pruned: pruned.rows.map((r) => r.kid) };
}

/**
 * Makes a new key active and retires the current one in one transaction, so there is never a moment
 * with no active key or two. Retired keys past their not_after are pruned in the same step.
 */
export async function rotateKeys(
  db: Db,
  options: RotateKeysOptions,
  kek: KeyEncryptionKey = keyEncryptionKeyFor(db),
): Promise<RotationResult> {
  if (!(options.maxTokenLifetimeSeconds > 0) || !(options.skewSeconds >= 0)) {
    throw new Error('rotateKeys needs maxTokenLifetimeSeconds > 0 and skewSeconds >= 0');
  }
  const key = await generateSigningKey();
  return db.transaction(async (tx) => ({ kid: key.kid, ...(await retireAndInsert(tx, kek, key, options)) }));
}

/** Deletes retired keys whose tokens have all expired. */
export async function pruneExpiredKeys(db: Db, now: Date): Promise<string[]> {
  const { rows } = await db.query<{ kid: string }>(DELETE_EXPIRED_KEYS, [now]);
  return rows.map((r) => r.kid);
}

/** The public key set verifiers use: the active key and retired keys still within their not_after. */
export async function jwks(db: Queryable, now: Date = systemClock.now()): Promise<JSONWebKeySet> {
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
