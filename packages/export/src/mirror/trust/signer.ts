// SPDX-License-Identifier: Apache-2.0
// The key that signs a mirror bundle's DSSE envelopes, TUF metadata and time anchor: Ed25519 only, so
// every signature is deterministic and the same bundle signed twice is byte-identical. A PlatformSigner
// with algorithm 'ed25519' satisfies MirrorSigner as it is; CI passes a key in MIRROR_SIGN_KEY_B64.
import { createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';
import { keyIdOf } from '@stella/platform';

export interface MirrorSigner {
  /** `sha256:<hex of the DER SubjectPublicKeyInfo>`, the platform's key id rule. */
  readonly keyid: string;
  readonly publicKeyPem: string;
  /** Raw Ed25519 signature over the bytes. */
  signBytes(data: Uint8Array): Buffer;
}

const FIX_KEY = 'generate one with `openssl genpkey -algorithm ed25519 -out mirror.pem`';

/** A signer from an unencrypted PKCS#8 Ed25519 private key PEM. Messages never echo key material. */
export function mirrorSignerFromPrivateKey(pem: string): MirrorSigner {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    // The cause is dropped on purpose: decoder errors are about the input, which is a secret.
    throw new Error(`mirror signing key is not an unencrypted private key PEM; ${FIX_KEY}`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new Error(
      `mirror signing key is ${privateKey.asymmetricKeyType ?? 'of an unknown type'}, not Ed25519; ${FIX_KEY}`,
    );
  }
  const publicKey = createPublicKey(privateKey);
  return Object.freeze({
    keyid: keyIdOf(publicKey),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    signBytes: (data: Uint8Array) => sign(null, data, privateKey),
  });
}

const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The signer named by MIRROR_SIGN_KEY_B64 (base64 of an Ed25519 private key PEM), or undefined when the
 * variable is unset or empty, so the caller can fall back to the platform key store.
 */
export function mirrorSignerFromEnv(env: { MIRROR_SIGN_KEY_B64?: string }): MirrorSigner | undefined {
  const value = env.MIRROR_SIGN_KEY_B64?.replace(/\s+/g, '');
  if (!value) return undefined;
  if (value.startsWith('-----BEGIN')) {
    throw new Error('MIRROR_SIGN_KEY_B64 holds a PEM, not its base64; set it to the output of `base64 -w0 mirror.pem`');
  }
  if (!BASE64_RE.test(value)) {
    throw new Error('MIRROR_SIGN_KEY_B64 is not base64; set it to the output of `base64 -w0 mirror.pem`');
  }
  const pem = Buffer.from(value, 'base64').toString('utf8');
  if (!pem.includes('-----BEGIN')) {
    throw new Error(
      'MIRROR_SIGN_KEY_B64 does not decode to a PEM; set it to the output of `base64 -w0 mirror.pem` for an Ed25519 key',
    );
  }
  try {
    return mirrorSignerFromPrivateKey(pem);
  } catch (err) {
    throw new Error(`MIRROR_SIGN_KEY_B64: ${(err as Error).message}`);
  }
}

/** Refuses a signer whose public key is not Ed25519 (an ECDSA PlatformSigner fits the type too). */
export function assertEd25519Signer(signer: MirrorSigner): void {
  if (createPublicKey(signer.publicKeyPem).asymmetricKeyType !== 'ed25519') {
    throw new Error(`mirror signer ${signer.keyid} is not Ed25519; mirror bundles are signed with Ed25519 only`);
  }
}
