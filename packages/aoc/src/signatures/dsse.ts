// SPDX-License-Identifier: Apache-2.0
// OpenVEX documents are signed by wrapping them in an in-toto Statement inside a DSSE envelope. This
// checks the envelope against the source's trusted keys (core's dsseVerify over PAE) and hands back
// the payload, the Statement whose `predicate` is the OpenVEX document. The payload is returned even
// when verification fails so a `record` policy can still store what upstream published.
import { type DsseTrustedKey, dsseVerify, IN_TOTO_PAYLOAD_TYPE, parseDsseEnvelope } from '@stella/core';

export interface DsseDocumentVerification {
  verified: boolean;
  keyId?: string;
  reason?: string;
  payloadType?: string;
  /** The decoded payload bytes (an in-toto Statement) when the envelope could be read. */
  payload?: Uint8Array;
  /** The Statement's predicateType, e.g. https://openvex.dev/ns/v0.2.0. */
  predicateType?: string;
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

export function verifyDsseDocument(
  envelopeBytes: Uint8Array,
  trustedKeys: readonly DsseTrustedKey[],
): DsseDocumentVerification {
  let envelope: ReturnType<typeof parseDsseEnvelope>;
  try {
    envelope = parseDsseEnvelope(JSON.parse(Buffer.from(envelopeBytes).toString('utf8')));
  } catch (err) {
    return { verified: false, reason: `not a DSSE envelope: ${(err as Error).message}` };
  }
  const payloadType = envelope.payloadType;
  if (!BASE64.test(envelope.payload)) return { verified: false, payloadType, reason: 'payload is not base64' };
  const payload = new Uint8Array(Buffer.from(envelope.payload.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
  const result: DsseDocumentVerification = { verified: false, payloadType, payload };
  try {
    const statement: unknown = JSON.parse(Buffer.from(payload).toString('utf8'));
    if (typeof statement === 'object' && statement !== null && 'predicateType' in statement) {
      const predicateType = (statement as { predicateType: unknown }).predicateType;
      if (typeof predicateType === 'string') result.predicateType = predicateType;
    }
  } catch {
    return { ...result, reason: 'payload is not JSON' };
  }
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE)
    return { ...result, reason: `payloadType ${payloadType} is not ${IN_TOTO_PAYLOAD_TYPE}` };
  const verification = dsseVerify(envelope, trustedKeys);
  if (!verification.verified) return { ...result, reason: verification.reason };
  return { ...result, verified: true, keyId: verification.keyid };
}
