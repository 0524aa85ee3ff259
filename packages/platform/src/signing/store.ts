// The signing key store: `getSigner(tenant, purpose, algorithm)` returns the tenant's active key for
// that purpose, generating and storing it on first use. The private key is a KeyObject (its inspect
// output carries no key material) and reaches the database row only sealed under the KEK.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { type DsseEnvelope, Errors, isTenantId, pae, StellaError, sha256Hex } from '@stella/core';
import type { Db, Tx } from '../db/index.ts';
import { type KeyEncryptionKey, keyEncryptionKeyFor, sealedKekId } from './kek.ts';

export type SigningAlgorithm = 'ed25519' | 'ecdsa-p256';

export interface PublicSigningKey {
  /** `sha256:<hex>` of the DER SubjectPublicKeyInfo, so anyone holding the public key can recompute it. */
  keyid: string;
  purpose: string;
  algorithm: SigningAlgorithm;
  publicKeyPem: string;
  status: 'active' | 'retired';
  createdAt: string;
}

export interface PlatformSigner {
  readonly keyid: string;
  readonly algorithm: SigningAlgorithm;
  readonly publicKeyPem: string;
  /** DSSE envelope over PAE(payloadType, payload). */
  signDsse(payloadType: string, payload: Uint8Array): DsseEnvelope;
  /**
   * Raw signature over bytes: Ed25519, or ECDSA P-256 with SHA-256 in DER (what cosign writes). Both are
   * deterministic (Ed25519 by design, ECDSA with RFC 6979 nonces), so the same bytes signed twice give
   * the same signature and a signed bundle stays reproducible.
   */
  signBytes(data: Uint8Array): Buffer;
  /**
   * The same ECDSA P-256 signature as signBytes(data), from the SHA-256 digest of the data, so a
   * file of any size is signed after hashing it as a stream. Ed25519 signs the whole message and has
   * no such form: it throws.
   */
  signSha256(digest: Uint8Array): Buffer;
}

export interface SigningKeyStore {
  /** The active key of (tenant, purpose, algorithm); created on first use. */
  getSigner(tenant: string, purpose: string, algorithm?: SigningAlgorithm): Promise<PlatformSigner>;
  /** Every key of the tenant, active and retired, public halves only. */
  listPublicKeys(tenant: string): Promise<PublicSigningKey[]>;
  /**
   * Retires the tenant's active keys of `purpose` (every algorithm it has) and makes new ones active.
   * Retired keys stay listed, so what they signed still verifies. Returns the new and retired key ids.
   */
  rotate(tenant: string, purpose: string): Promise<{ active: PublicSigningKey[]; retired: string[] }>;
}

/**
 * How long a process signs with a key it loaded before checking it is still the active one: after a
 * rotation in another process, this one moves to the new key within this time. Anything it signed in
 * between still verifies against the retired key, which stays published.
 */
const ACTIVE_KEY_RECHECK_MS = 5_000;

type SignerCache = Map<string, { signer: Promise<PlatformSigner>; checkedAt: number }>;
const signerCaches = new WeakMap<Db, SignerCache>();

const PURPOSE_RE = /^[a-z][a-z0-9_-]{0,63}$/;

export function keyIdOf(publicKey: KeyObject | string): string {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  return `sha256:${sha256Hex(key.export({ type: 'spki', format: 'der' }))}`;
}

interface KeyRow {
  tenant: string;
  keyid: string;
  purpose: string;
  algorithm: SigningAlgorithm;
  public_key_pem: string;
  /** Only on rows written before keys were sealed, until the next start seals them. */
  private_key_pem: string | null;
  private_key_sealed: string | null;
}

export interface SigningKeyStoreOptions {
  /** Default: the KEK attached to `db` at start (see attachKeyEncryptionKey). */
  kek?: KeyEncryptionKey;
}

const SELECT_ACTIVE = `select tenant, keyid, purpose, algorithm, public_key_pem, private_key_pem, private_key_sealed
  from signing_keys where tenant = $1 and purpose = $2 and algorithm = $3 and status = 'active'`;

export function createSigningKeyStore(db: Db, options: SigningKeyStoreOptions = {}): SigningKeyStore {
  // Signers are immutable, so a process caches them, and checks now and then that its key is still
  // the active one (ACTIVE_KEY_RECHECK_MS). The stores of one database under its own KEK share the
  // cache, so a rotation through any of them takes effect in this process at once; a store given
  // another KEK keeps its own (its signers open with that KEK or not at all).
  const shared = options.kek === undefined;
  const cache: SignerCache = (shared && signerCaches.get(db)) || new Map();
  if (shared) signerCaches.set(db, cache);
  const kek = () => options.kek ?? keyEncryptionKeyFor(db);
  const load = (key: string, tenant: string, purpose: string, algorithm: SigningAlgorithm) => {
    const signer = loadSigner(db, kek, tenant, purpose, algorithm);
    signer.catch(() => cache.delete(key));
    cache.set(key, { signer, checkedAt: performance.now() });
    return signer;
  };
  const store: SigningKeyStore = {
    async getSigner(tenant, purpose, algorithm = 'ed25519') {
      assertSignerRequest(tenant, purpose, algorithm);
      const key = `${tenant}\u0000${purpose}\u0000${algorithm}`;
      const cached = cache.get(key);
      if (!cached) return load(key, tenant, purpose, algorithm);
      if (performance.now() - cached.checkedAt < ACTIVE_KEY_RECHECK_MS) return cached.signer;
      const signer = await cached.signer;
      cached.checkedAt = performance.now();
      const active = await activeKeyId(db, tenant, purpose, algorithm);
      return active === signer.keyid ? signer : load(key, tenant, purpose, algorithm);
    },
    listPublicKeys: (tenant) => listPublicKeys(db, tenant),
    async rotate(tenant, purpose) {
      assertSignerRequest(tenant, purpose, 'ed25519');
      const retired = await db.transaction(
        async (tx) =>
          (
            await tx.query<{ keyid: string; algorithm: SigningAlgorithm }>(
              `update signing_keys set status = 'retired' where tenant = $1 and purpose = $2 and status = 'active'
               returning keyid, algorithm`,
              [tenant, purpose],
            )
          ).rows,
        { tenant },
      );
      if (retired.length === 0) {
        throw new StellaError(
          Errors.notFound,
          `tenant ${tenant} has no active ${purpose} key to rotate; it is made on first use`,
        );
      }
      for (const key of [...cache.keys()]) if (key.startsWith(`${tenant}\u0000${purpose}\u0000`)) cache.delete(key);
      const algorithms = [...new Set(retired.map((r) => r.algorithm))];
      const created = await Promise.all(algorithms.map((algorithm) => store.getSigner(tenant, purpose, algorithm)));
      const keys = await listPublicKeys(db, tenant);
      return {
        active: keys.filter((k) => created.some((c) => c.keyid === k.keyid)),
        retired: retired.map((r) => r.keyid),
      };
    },
  };
  return store;
}

async function activeKeyId(
  db: Db,
  tenant: string,
  purpose: string,
  algorithm: SigningAlgorithm,
): Promise<string | undefined> {
  const { rows } = await db.transaction(
    (tx) =>
      tx.query<{ keyid: string }>(
        `select keyid from signing_keys where tenant = $1 and purpose = $2 and algorithm = $3 and status = 'active'`,
        [tenant, purpose, algorithm],
      ),
    { tenant },
  );
  return rows[0]?.keyid;
}

function assertSignerRequest(tenant: string, purpose: string, algorithm: SigningAlgorithm): void {
  if (!isTenantId(tenant)) throw new StellaError(Errors.validation, `invalid tenant id ${JSON.stringify(tenant)}`);
  if (!PURPOSE_RE.test(purpose))
    throw new StellaError(Errors.validation, `invalid key purpose ${JSON.stringify(purpose)}`);
  if (algorithm !== 'ed25519' && algorithm !== 'ecdsa-p256') {
    throw new StellaError(Errors.validation, `unsupported signing algorithm ${JSON.stringify(algorithm)}`);
  }
}

/** The active key of (tenant, purpose, algorithm), generated and stored when there is none yet. */
async function loadSigner(
  db: Db,
  kek: () => KeyEncryptionKey,
  tenant: string,
  purpose: string,
  algorithm: SigningAlgorithm,
): Promise<PlatformSigner> {
  const existing = await db.transaction((tx) => tx.query<KeyRow>(SELECT_ACTIVE, [tenant, purpose, algorithm]), {
    tenant,
  });
  if (existing.rows[0]) return signerFrom(existing.rows[0], kek());
  const row = await storeNewKey(db, kek, tenant, purpose, algorithm);
  if (!row) throw new StellaError(Errors.internal, `signing key for ${purpose}/${algorithm} could not be stored`);
  return signerFrom(row, kek());
}

/** Generates a key pair and stores it sealed; returns the active row, which a concurrent writer may have won. */
async function storeNewKey(
  db: Db,
  kek: () => KeyEncryptionKey,
  tenant: string,
  purpose: string,
  algorithm: SigningAlgorithm,
): Promise<KeyRow | undefined> {
  const pair =
    algorithm === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const keyid = keyIdOf(pair.publicKey);
  const publicKeyPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  // Sealed before it is sent: the plaintext never reaches the database, its WAL or its backups.
  const sealed = kek().seal(
    pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    sealingContext({ tenant, keyid, purpose, algorithm }),
  );
  return db.transaction(
    async (tx) => {
      await tx.query(
        `insert into signing_keys (tenant, keyid, purpose, algorithm, public_key_pem, private_key_sealed)
         values ($1, $2, $3, $4, $5, $6) on conflict do nothing`,
        [tenant, keyid, purpose, algorithm, publicKeyPem, sealed],
      );
      return (await tx.query<KeyRow>(SELECT_ACTIVE, [tenant, purpose, algorithm])).rows[0];
    },
    { tenant },
  );
}

async function listPublicKeys(db: Db, tenant: string): Promise<PublicSigningKey[]> {
  const result = await db.transaction(
    (tx) =>
      tx.query<{
        keyid: string;
        purpose: string;
        algorithm: SigningAlgorithm;
        public_key_pem: string;
        status: 'active' | 'retired';
        created_at: Date | string;
      }>(
        'select keyid, purpose, algorithm, public_key_pem, status, created_at from signing_keys where tenant = $1 order by purpose, algorithm, created_at, keyid',
        [tenant],
      ),
    { tenant },
  );
  return result.rows.map((r) => ({
    keyid: r.keyid,
    purpose: r.purpose,
    algorithm: r.algorithm,
    publicKeyPem: r.public_key_pem,
    status: r.status,
    createdAt: new Date(r.created_at).toISOString(),
  }));
}

/**
 * Additional data bound into each sealed key: a sealed value copied onto another row (another tenant,
 * purpose or key id) fails to open instead of signing under a name it does not belong to.
 */
function sealingContext(row: Pick<KeyRow, 'tenant' | 'keyid' | 'purpose' | 'algorithm'>): string {
  return `platform-signing-key\u0000${row.tenant}\u0000${row.keyid}\u0000${row.purpose}\u0000${row.algorithm}`;
}

function signerFrom(row: KeyRow, kek: KeyEncryptionKey): PlatformSigner {
  const pem = row.private_key_sealed ? kek.open(row.private_key_sealed, sealingContext(row)) : row.private_key_pem;
  if (!pem) throw new StellaError(Errors.internal, `signing key ${row.keyid} has no private key`);
  const privateKey = createPrivateKey(pem);
  const keyid = row.keyid;
  const ecdsa = row.algorithm === 'ed25519' ? undefined : ecdsaP256Signer(privateKey);
  const signBytes = ecdsa ? ecdsa.message : ed25519Signer(privateKey);
  return Object.freeze({
    keyid,
    algorithm: row.algorithm,
    publicKeyPem: row.public_key_pem,
    signDsse: (payloadType: string, payload: Uint8Array): DsseEnvelope => ({
      payloadType,
      payload: Buffer.from(payload).toString('base64'),
      signatures: [{ keyid, sig: signBytes(pae(payloadType, payload)).toString('base64') }],
    }),
    signBytes,
    signSha256: (digest: Uint8Array): Buffer => {
      if (!ecdsa)
        throw new StellaError(Errors.internal, `signing key ${keyid} is Ed25519, which signs messages, not digests`);
      return ecdsa.digest(digest);
    },
    toJSON: () => ({ keyid, algorithm: row.algorithm }),
  });
}

function ed25519Signer(privateKey: KeyObject): (data: Uint8Array) => Buffer {
  return (data) => sign(null, data, privateKey);
}

/**
 * OpenSSL picks a random ECDSA nonce, so node:crypto cannot sign deterministically; @noble/curves
 * implements RFC 6979 (nonce derived from key and message hash) and emits the same DER as OpenSSL,
 * which `openssl dgst -sha256 -verify` and cosign accept.
 */
function ecdsaP256Signer(privateKey: KeyObject): {
  message(data: Uint8Array): Buffer;
  digest(sha256: Uint8Array): Buffer;
} {
  const jwk = privateKey.export({ format: 'jwk' });
  if (jwk.crv !== 'P-256' || !jwk.d)
    throw new StellaError(Errors.internal, 'stored ECDSA key is not a P-256 private key');
  const scalar = Buffer.from(jwk.d, 'base64url');
  return {
    // noble hashes the message with SHA-256 first (prehash), as ECDSA-with-SHA-256 does.
    message: (data) => Buffer.from(p256.sign(data, scalar, { format: 'der' })),
    digest: (sha256) => {
      if (sha256.length !== 32) throw new StellaError(Errors.internal, 'a SHA-256 digest is 32 bytes');
      return Buffer.from(p256.sign(sha256, scalar, { format: 'der', prehash: false }));
    },
  };
}

// Start-up maintenance across every tenant's keys. The row-level security policy of signing_keys
// admits all rows only to a transaction that set app.key_maintenance (migration 0004); these two
// functions are the only code that does.
async function maintenance<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.query(`select set_config('app.key_maintenance', 'on', true)`);
    return fn(tx);
  });
}

/** Ids of the KEKs the stored platform signing keys are sealed with (normally one, or none yet). */
export async function sealedSigningKeyKekIds(db: Db): Promise<string[]> {
  const { rows } = await maintenance(db, (tx) =>
    tx.query<{ sealed: string }>(
      `select distinct on (split_part(private_key_sealed, ':', 2)) private_key_sealed as sealed
         from signing_keys where private_key_sealed is not null`,
    ),
  );
  return [...new Set(rows.map((r) => sealedKekId(r.sealed) ?? 'unreadable'))].sort();
}

/**
 * Seals the platform signing keys still stored in plaintext (written before sealing existed), in one
 * transaction; running it again finds none. Returns the tenant and key id of each key sealed.
 */
export async function sealPlaintextSigningKeys(
  db: Db,
  kek: KeyEncryptionKey,
): Promise<{ tenant: string; keyid: string; purpose: string }[]> {
  return maintenance(db, async (tx) => {
    const { rows } = await tx.query<KeyRow>(
      `select tenant, keyid, purpose, algorithm, public_key_pem, private_key_pem, private_key_sealed
         from signing_keys where private_key_pem is not null order by tenant, keyid for update`,
    );
    for (const row of rows) {
      await tx.query(
        'update signing_keys set private_key_sealed = $3, private_key_pem = null where tenant = $1 and keyid = $2',
        [row.tenant, row.keyid, kek.seal(row.private_key_pem!, sealingContext(row))],
      );
    }
    return rows.map((r) => ({ tenant: r.tenant, keyid: r.keyid, purpose: r.purpose }));
  });
}
