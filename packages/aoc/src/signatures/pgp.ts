// SPDX-License-Identifier: Apache-2.0
// CSAF providers sign every document with a detached OpenPGP signature (`X.json.asc`) over the exact
// published bytes. This verifies it with openpgp v6 against the keys configured for the source,
// before anything parses the document. Failure is a result with a reason, never a throw, so the
// signature policy decides what a failure means.
import * as openpgp from 'openpgp';

export interface PgpVerification {
  verified: boolean;
  /** Issuer key id of the signature (16 upper-case hex), when the signature could be read. */
  keyId?: string;
  /** Fingerprint of the configured key that verified it. */
  fingerprint?: string;
  reason?: string;
}

function isArmored(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, 64)).toString('latin1').trimStart().startsWith('-----BEGIN PGP');
}

async function readSignature(signature: string | Uint8Array): Promise<openpgp.Signature> {
  if (typeof signature === 'string') return openpgp.readSignature({ armoredSignature: signature });
  if (isArmored(signature)) return openpgp.readSignature({ armoredSignature: Buffer.from(signature).toString('utf8') });
  return openpgp.readSignature({ binarySignature: signature });
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function verifyDetachedPgp(
  bytes: Uint8Array,
  armoredSignature: string | Uint8Array,
  armoredPublicKeys: string[],
): Promise<PgpVerification> {
  let signature: openpgp.Signature;
  try {
    signature = await readSignature(armoredSignature);
  } catch (err) {
    return { verified: false, reason: `signature cannot be read: ${message(err)}` };
  }
  const issuers = signature.getSigningKeyIDs().map((id) => id.toHex().toUpperCase());
  const keyId = issuers[0];
  const base = keyId === undefined ? {} : { keyId };
  if (armoredPublicKeys.length === 0)
    return { ...base, verified: false, reason: 'no public keys configured for this source' };
  const keys: openpgp.PublicKey[] = [];
  for (const [i, armoredKey] of armoredPublicKeys.entries()) {
    try {
      keys.push(...(await openpgp.readKeys({ armoredKeys: armoredKey })).map((k) => k.toPublic()));
    } catch (err) {
      return { ...base, verified: false, reason: `configured public key ${i} cannot be read: ${message(err)}` };
    }
  }
  const signer = keys.find((k) => k.getKeyIDs().some((id) => issuers.includes(id.toHex().toUpperCase())));
  if (signer === undefined)
    return {
      ...base,
      verified: false,
      reason: `signed by key id ${issuers.join(', ') || '(none given)'}, which is not among the configured keys (${keys
        .map((k) => k.getFingerprint().toUpperCase())
        .join(', ')})`,
    };
  const fingerprint = signer.getFingerprint().toUpperCase();
  try {
    const result = await openpgp.verify({
      message: await openpgp.createMessage({ binary: bytes }),
      signature,
      verificationKeys: [signer],
      format: 'binary',
      expectSigned: false,
    });
    const reasons: string[] = [];
    for (const candidate of result.signatures) {
      try {
        await candidate.verified;
        return { verified: true, keyId: candidate.keyID.toHex().toUpperCase(), fingerprint };
      } catch (err) {
        reasons.push(message(err));
      }
    }
    return { ...base, fingerprint, verified: false, reason: reasons.join('; ') || 'no signature in the .asc' };
  } catch (err) {
    return { ...base, fingerprint, verified: false, reason: message(err) };
  }
}
