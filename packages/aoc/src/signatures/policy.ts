// SPDX-License-Identifier: Apache-2.0
// Turns a verification result into the `upstream.signature` record and, for a `require` source, a
// rejection (the caller maps it to ERR_AOC_005). Also checks a declared `.sha256`/`.sha512` digest
// against the exact bytes: a mismatch is always a rejection, whatever the signature policy.
import { createHash } from 'node:crypto';

export type SignaturePolicy = 'require' | 'record' | 'ignore';
export type SignatureFormat = 'pgp' | 'dsse';

export interface SignatureResult {
  verified: boolean;
  keyId?: string;
  reason?: string;
  format?: SignatureFormat;
}

export interface SignatureRecord {
  present: boolean;
  format?: SignatureFormat;
  key_id?: string;
  verified: boolean;
  reason?: string;
}

export interface SignatureDecision {
  signature: SignatureRecord;
  /** Set when the document must not be stored. */
  reject?: string;
}

export function evaluateSignature(
  policy: SignaturePolicy,
  result: SignatureResult | undefined,
  present: boolean,
  format?: SignatureFormat,
): SignatureDecision {
  const signature: SignatureRecord = { present, verified: false };
  const recordedFormat = result?.format ?? format;
  if (present && recordedFormat !== undefined) signature.format = recordedFormat;
  if (policy === 'ignore') return { signature: { ...signature, reason: 'ignored by policy' } };
  if (!present) {
    signature.reason = 'no signature published';
    return policy === 'require'
      ? { signature, reject: 'signature required by source policy but none was published' }
      : { signature };
  }
  if (result === undefined) {
    signature.reason = 'signature present but not verified';
    return policy === 'require'
      ? { signature, reject: 'signature required by source policy but was not verified' }
      : { signature };
  }
  if (result.keyId !== undefined) signature.key_id = result.keyId;
  signature.verified = result.verified;
  if (result.verified) return { signature };
  signature.reason = result.reason ?? 'signature does not verify';
  return policy === 'require'
    ? { signature, reject: `signature required by source policy does not verify: ${signature.reason}` }
    : { signature };
}

export interface DeclaredDigest {
  algorithm: 'sha256' | 'sha512';
  hex: string;
  location?: string;
}

const HEX_LENGTH = { sha256: 64, sha512: 128 } as const;

/** `{ ok: true }` when the bytes hash to the declared digest; otherwise the rejection reason. */
export function checkDeclaredDigest(
  bytes: Uint8Array,
  declared: DeclaredDigest,
): { ok: true; actual: string } | { ok: false; reason: string } {
  const where = declared.location ? ` (${declared.location})` : '';
  const expected = declared.hex.toLowerCase();
  if (expected.length !== HEX_LENGTH[declared.algorithm] || !/^[0-9a-f]+$/.test(expected))
    return {
      ok: false,
      reason: `declared ${declared.algorithm} digest${where} is not a ${declared.algorithm} hex value`,
    };
  const actual = createHash(declared.algorithm).update(bytes).digest('hex');
  if (actual !== expected)
    return {
      ok: false,
      reason: `${declared.algorithm} of the document is ${actual} but ${expected} was declared${where}`,
    };
  return { ok: true, actual };
}
