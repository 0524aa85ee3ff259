// Client secrets: generated with 256 bits of randomness, stored only as scrypt hashes in the
// self-describing form scrypt$N$r$p$<salt b64>$<hash b64>, and compared in constant time.
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import type { KeyEncryptionKey } from '@stella/platform';

/**
 * N=2^15, r=8 costs about 32 MiB and tens of milliseconds per check: cheap at one token request per
 * client every few minutes, expensive for guessing the human-chosen secrets config clients may use.
 */
const DEFAULT_PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

/**
 * Upper bounds for parameters read from a stored hash: without them a hash pasted into the config
 * could make every token request allocate gigabytes.
 */
const MAX_N = 2 ** 20;
const MAX_R = 16;
const MAX_P = 16;

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

export async function hashSecret(secret: string): Promise<string> {
  const { N, r, p } = DEFAULT_PARAMS;
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(secret, salt, KEY_BYTES, { N, r, p });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** True when the string is a hash this module can verify; config loading uses it to fail early. */
export function isSecretHash(encoded: string): boolean {
  return parseHash(encoded) !== undefined;
}

/** Constant-time comparison; a malformed stored hash verifies nothing. */
export async function verifySecret(secret: string, encoded: string): Promise<boolean> {
  const parsed = parseHash(encoded);
  if (!parsed) return false;
  const candidate = await derive(secret, parsed.salt, parsed.hash.length, parsed);
  return timingSafeEqual(candidate, parsed.hash);
}

const VERIFIER_PURPOSE = 'client-secret-verifier';

/**
 * The fast check of a secret the client presented correctly before: HMAC under a KEK-derived key over
 * the client id, the current hash and the secret. It is bound to the hash, so a changed secret in the
 * config never matches an old verifier.
 */
export function secretVerifier(kek: KeyEncryptionKey, clientId: string, secretHash: string, secret: string): string {
  return kek.mac(VERIFIER_PURPOSE, verifierInput(clientId, secretHash, secret));
}

export function verifierMatches(
  kek: KeyEncryptionKey,
  clientId: string,
  secretHash: string,
  secret: string,
  stored: string,
): boolean {
  return kek.macEquals(VERIFIER_PURPOSE, verifierInput(clientId, secretHash, secret), stored);
}

function verifierInput(clientId: string, secretHash: string, secret: string): string {
  return `${clientId}\u0000${secretHash}\u0000${secret.normalize('NFC')}`;
}

let decoy: Promise<string> | undefined;

/**
 * A hash of a random secret nobody knows, verified against when the client id is unknown so that
 * answering "no such client" takes as long as "wrong secret" and client ids cannot be probed by timing.
 */
export function decoyHash(): Promise<string> {
  decoy ??= hashSecret(generateSecret());
  return decoy;
}

function parseHash(encoded: string): ParsedHash | undefined {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map((v) => (/^[1-9]\d{0,9}$/.test(v!) ? Number(v) : Number.NaN)) as [
    number,
    number,
    number,
  ];
  if (!(N > 1 && N <= MAX_N && (N & (N - 1)) === 0)) return undefined;
  if (!(r >= 1 && r <= MAX_R && p >= 1 && p <= MAX_P)) return undefined;
  const b64 = /^[A-Za-z0-9+/]+={0,2}$/;
  if (!b64.test(parts[4]!) || !b64.test(parts[5]!)) return undefined;
  const salt = Buffer.from(parts[4]!, 'base64');
  const hash = Buffer.from(parts[5]!, 'base64');
  if (salt.length < 8 || hash.length < 16 || hash.length > 64) return undefined;
  return { N, r, p, salt, hash };
}

function derive(secret: string, salt: Buffer, length: number, params: { N: number; r: number; p: number }) {
  // Node refuses anything over 32 MiB by default, which N=2^15, r=8 sits exactly at.
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(secret.normalize('NFC'), salt, length, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}
