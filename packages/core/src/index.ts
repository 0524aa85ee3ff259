// @stella/core: pure building blocks shared by every room. No I/O dependencies.
export { canonicalJson } from './canonical-json.ts';
export type { Clock } from './clock.ts';
export { fixedClock, isoUtc, systemClock } from './clock.ts';
export type { Sha256Digest } from './digest.ts';
export { canonicalDigest, isSha256Digest, parseSha256, sha256Digest, sha256Hex } from './digest.ts';
export type { DsseEnvelope, DsseSignature, DsseSigner, DsseTrustedKey, DsseVerification } from './dsse.ts';
export { dsseSign, dsseVerify, IN_TOTO_PAYLOAD_TYPE, pae, parseDsseEnvelope } from './dsse.ts';
export { durationSeconds } from './duration.ts';
export type { ErrorDefinition, StellaErrorOptions } from './errors.ts';
export {
  coerceError,
  defineError,
  Errors,
  ExitCode,
  errorDefinitions,
  lookupError,
  StellaError,
} from './errors.ts';
export { isTenantId, newUlid, newUuid, TENANT_ID_RE } from './ids.ts';
export type { JsonLimits } from './json-limits.ts';
export { checkJsonLimits, DEFAULT_JSON_LIMITS, parseJsonWithLimits } from './json-limits.ts';
export type { SubjectRef } from './subject.ts';
export { deriveSubjectKey } from './subject.ts';
export { SYMBOL_TUPLES, symbolId } from './symbol-id.ts';
export { STELLA_VERSION } from './version.ts';
