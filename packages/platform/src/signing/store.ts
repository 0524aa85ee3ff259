// The signing key store: `getSigner(tenant, purpose, algorithm)` returns the tenant's active key for
// that purpose, generating and storing it on first use. The private key is a KeyObject (its inspect
// output carries no key material) and is exported only to the database row.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { type DsseEnvelope, Errors, isTenantId, pae, StellaError, sha256Hex } from '@stella/core';
import type { Db } from '../db/index.ts';

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
}

export interface SigningKeyStore {
  /** The active key of (tenant, purpose, algorithm); created on first use. */
  getSigner(tenant: string, purpose: string, algorithm?: SigningAlgorithm): Promise<PlatformSigner>;
  /** Every key of the tenant, active and retired, public halves only. */
  listPublicKeys(tenant: string): Promise<PublicSigningKey[]>;
}

const PURPOSE_RE = /^[a-z][a-z0-9_-]{0,63}$/;

export function keyIdOf(publicKey: KeyObject | string): string {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  return `sha256:${sha256Hex(key.export({ type: 'spki', format: 'der' }))}`;
}

interface KeyRow {
  keyid: string;
  algorithm: SigningAlgorithm;
  public_key_pem: string;
  private_key_pem: string;
}

export function createSigningKeyStore(db: Db): SigningKeyStore {
  // Signers are immutable once created, so a process caches them; a rotated key is a new cache key
  // only after restart, which is acceptable because retired keys stay valid for verification.
  const cache = new Map<string, Promise<PlatformSigner>>();

  const load = async (tenant: string, purpose: string, algorithm: SigningAlgorithm): Promise<PlatformSigner> => {
    const select =
      'select keyid, algorithm, public_key_pem, private_key_pem from signing_keys where tenant = $1 and purpose = $2 and algorithm = $3 and status = $4';
    const existing = await db.transaction((tx) => tx.query<KeyRow>(select, [tenant, purpose, algorithm, 'active']), {
      tenant,
    });
    if (existing.rows[0]) return signerFrom(existing.rows[0]);
    const pair =
      algorithm === 'ed25519'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const publicKeyPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const privateKeyPem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const row = await db.transaction(
      async (tx) => {
        await tx.query(
          `insert into signing_keys (tenant, keyid, purpose, algorithm, public_key_pem, private_key_pem)
           values ($1, $2, $3, $4, $5, $6) on conflict do nothing`,
          [tenant, keyIdOf(pair.publicKey), purpose, algorithm, publicKeyPem, privateKeyPem],
        );
        return (await tx.query<KeyRow>(select, [tenant, purpose, algorithm, 'active'])).rows[0];
      },
      { tenant },
    );
    if (!row) throw new StellaError(Errors.internal, `signing key for ${purpose}/${algorithm} could not be stored`);
    return signerFrom(row);
  };

  return {
    async getSigner(tenant, purpose, algorithm = 'ed25519') {
      if (!isTenantId(tenant)) throw new StellaError(Errors.validation, `invalid tenant id ${JSON.stringify(tenant)}`);
      if (!PURPOSE_RE.test(purpose))
        throw new StellaError(Errors.validation, `invalid key purpose ${JSON.stringify(purpose)}`);
      if (algorithm !== 'ed25519' && algorithm !== 'ecdsa-p256') {
        throw new StellaError(Errors.validation, `unsupported signing algorithm ${JSON.stringify(algorithm)}`);
      }
      const key = `${tenant}\u0000${purpose}\u0000${algorithm}`;
      let signer = cache.get(key);
      if (!signer) {
        signer = load(tenant, purpose, algorithm);
        signer.catch(() => cache.delete(key));
        cache.set(key, signer);
      }
      return signer;
    },
    async listPublicKeys(tenant) {
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
    },
  };
}

function signerFrom(row: KeyRow): PlatformSigner {
  const privateKey = createPrivateKey(row.private_key_pem);
  const keyid = row.keyid;
  const signBytes = row.algorithm === 'ed25519' ? ed25519Signer(privateKey) : ecdsaP256Signer(privateKey);
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
function ecdsaP256Signer(privateKey: KeyObject): (data: Uint8Array) => Buffer {
  const jwk = privateKey.export({ format: 'jwk' });
  if (jwk.crv !== 'P-256' || !jwk.d)
    throw new StellaError(Errors.internal, 'stored ECDSA key is not a P-256 private key');
  const scalar = Buffer.from(jwk.d, 'base64url');
  return (data) => Buffer.from(p256.sign(data, scalar, { format: 'der' }));
}
