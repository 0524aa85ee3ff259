// Digests are always written `sha256:<lowercase hex>`.
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';

export type Sha256Digest = `sha256:${string}`;

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256Digest(data: string | Uint8Array): Sha256Digest {
  return `sha256:${sha256Hex(data)}`;
}

export function canonicalDigest(value: unknown): Sha256Digest {
  return sha256Digest(canonicalJson(value));
}

export function isSha256Digest(value: string): value is Sha256Digest {
  return DIGEST_RE.test(value);
}

/** Accepts `sha256:<hex>` or bare hex; returns the lowercase hex, or undefined when malformed. */
export function parseSha256(value: string): string | undefined {
  const hex = value.startsWith('sha256:') ? value.slice(7) : value;
  return /^[0-9a-fA-F]{64}$/.test(hex) ? hex.toLowerCase() : undefined;
}
