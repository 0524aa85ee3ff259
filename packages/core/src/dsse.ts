// SPDX-License-Identifier: Apache-2.0
// DSSE (Dead Simple Signing Envelope, secure-systems-lab/dsse v1.0): signatures are over the
// pre-authentication encoding PAE(type, body), never over the JSON of the envelope, so a verifier
// needs only the payload bytes, the payload type and a public key. Ed25519 and ECDSA P-256 keys are
// supported; ECDSA signatures are DER, as cosign and openssl write them.
import { createPublicKey, type KeyObject, sign, verify } from 'node:crypto';

export interface DsseSignature {
  keyid: string;
  sig: string;
}

export interface DsseEnvelope {
  payloadType: string;
  /** Standard base64 of the payload bytes. */
  payload: string;
  signatures: DsseSignature[];
}

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in bytes as ASCII decimal. */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'ascii'),
    type,
    Buffer.from(` ${payload.length} `, 'ascii'),
    payload,
  ]);
}

export interface DsseSigner {
  keyid: string;
  privateKey: KeyObject;
}

function algorithmFor(key: KeyObject): string | null {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') return null;
  if (type === 'ec') return 'sha256';
  throw new Error(`DSSE: unsupported key type ${type ?? 'unknown'} (use Ed25519 or ECDSA P-256)`);
}

export function dsseSign(payloadType: string, payload: Uint8Array, signers: readonly DsseSigner[]): DsseEnvelope {
  if (signers.length === 0) throw new Error('DSSE: at least one signer is required');
  const message = pae(payloadType, payload);
  return {
    payloadType,
    payload: Buffer.from(payload).toString('base64'),
    signatures: signers.map((s) => ({
      keyid: s.keyid,
      sig: sign(algorithmFor(s.privateKey), message, s.privateKey).toString('base64'),
    })),
  };
}

export interface DsseTrustedKey {
  keyid: string;
  publicKey: KeyObject | string;
}

export type DsseVerification =
  | { verified: true; keyid: string; payloadType: string; payload: Buffer }
  | { verified: false; reason: string };

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(value: string, what: string): Buffer {
  // DSSE allows standard or URL-safe base64; normalise and refuse anything else.
  const normal = value.replace(/-/g, '+').replace(/_/g, '/');
  if (!BASE64_RE.test(normal)) throw new Error(`${what} is not base64`);
  return Buffer.from(normal, 'base64');
}

/** Parses an unknown JSON value as an envelope, throwing a message that names the bad member. */
export function parseDsseEnvelope(value: unknown): DsseEnvelope {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error('DSSE envelope must be a JSON object');
  const env = value as Record<string, unknown>;
  if (typeof env.payloadType !== 'string') throw new Error('DSSE envelope: payloadType must be a string');
  if (typeof env.payload !== 'string') throw new Error('DSSE envelope: payload must be a string');
  if (!Array.isArray(env.signatures) || env.signatures.length === 0)
    throw new Error('DSSE envelope: signatures must be a non-empty array');
  const signatures = env.signatures.map((s, i) => {
    const sig = s as Record<string, unknown>;
    if (typeof sig?.sig !== 'string') throw new Error(`DSSE envelope: signatures[${i}].sig must be a string`);
    return { keyid: typeof sig.keyid === 'string' ? sig.keyid : '', sig: sig.sig };
  });
  return { payloadType: env.payloadType, payload: env.payload, signatures };
}

/**
 * Verifies that at least one signature was made by one of the trusted keys. The keyid is a hint
 * (DSSE leaves it optional and unauthenticated): a signature whose keyid names a trusted key is
 * checked against that key only; any other signature is tried against every trusted key.
 */
export function dsseVerify(envelope: DsseEnvelope, trusted: readonly DsseTrustedKey[]): DsseVerification {
  if (trusted.length === 0) return { verified: false, reason: 'no trusted keys configured' };
  let payload: Buffer;
  try {
    payload = decodeBase64(envelope.payload, 'payload');
  } catch (err) {
    return { verified: false, reason: (err as Error).message };
  }
  const message = pae(envelope.payloadType, payload);
  const keys = trusted.map((k) => ({
    keyid: k.keyid,
    key: typeof k.publicKey === 'string' ? createPublicKey(k.publicKey) : k.publicKey,
  }));
  for (const signature of envelope.signatures) {
    let sig: Buffer;
    try {
      sig = decodeBase64(signature.sig, 'signature');
    } catch {
      continue;
    }
    const named = signature.keyid ? keys.filter((k) => k.keyid === signature.keyid) : [];
    const candidates = named.length > 0 ? named : keys;
    for (const candidate of candidates) {
      let ok = false;
      try {
        ok = verify(algorithmFor(candidate.key), message, candidate.key, sig);
      } catch {
        ok = false;
      }
      if (ok) return { verified: true, keyid: candidate.keyid, payloadType: envelope.payloadType, payload };
    }
  }
  const named = envelope.signatures.map((s) => s.keyid || '(no keyid)').join(', ');
  return { verified: false, reason: `no signature verifies with a trusted key (signatures by: ${named})` };
}
