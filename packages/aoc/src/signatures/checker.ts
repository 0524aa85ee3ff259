// SPDX-License-Identifier: Apache-2.0
// Applies each source's signature policy (require | record | ignore, config `aoc.sources.<vendor>`)
// with its trusted keys: armored OpenPGP public keys for CSAF `.asc` signatures, PEM public keys
// for DSSE envelopes. Sources without settings are `record` with no keys: a published signature is
// stored as present but unverified, and nothing is rejected.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { canonicalJson, Errors, StellaError } from '@stella/core';
import type { AocSourceConfig } from '../config.ts';
import type { SignatureChecker } from '../ingest/prepare.ts';
import { sourceSettings } from '../sources/settings.ts';
import { evaluateSignature, type SignatureResult, verifyDetachedPgp, verifyDsseDocument } from './index.ts';

interface TrustedKeys {
  pgp: string[];
  pem: Array<{ keyid: string; publicKey: string }>;
}

function loadKeys(vendor: string, paths: readonly string[]): TrustedKeys {
  const keys: TrustedKeys = { pgp: [], pem: [] };
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new StellaError(
        Errors.config,
        `aoc.sources.${vendor}.keys: cannot read ${path}: ${(error as Error).message}`,
      );
    }
    if (text.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) keys.pgp.push(text);
    else if (text.includes('-----BEGIN PUBLIC KEY-----')) keys.pem.push({ keyid: basename(path), publicKey: text });
    else
      throw new StellaError(
        Errors.config,
        `aoc.sources.${vendor}.keys: ${path} is neither an armored OpenPGP key nor a PEM public key`,
      );
  }
  return keys;
}

function payloadIsDocument(payload: Uint8Array | undefined, bytes: Uint8Array): boolean {
  if (!payload) return false;
  if (Buffer.from(payload).equals(Buffer.from(bytes))) return true;
  try {
    const statement = JSON.parse(Buffer.from(payload).toString('utf8')) as { predicate?: unknown };
    const document: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
    return statement.predicate !== undefined && canonicalJson(statement.predicate) === canonicalJson(document);
  } catch {
    return false;
  }
}

export function createSignatureChecker(sources: Record<string, AocSourceConfig>): SignatureChecker {
  const cache = new Map<string, TrustedKeys>();
  const keysFor = (vendor: string): TrustedKeys => {
    let keys = cache.get(vendor);
    if (!keys) {
      keys = loadKeys(vendor, sourceSettings(sources[vendor]).keys);
      cache.set(vendor, keys);
    }
    return keys;
  };
  // Fail at start-up, not on the first document, when a configured key file is unreadable.
  for (const vendor of Object.keys(sources)) keysFor(vendor);

  return async (vendor, bytes, signature) => {
    const policy = sourceSettings(sources[vendor]).signature;
    if (policy === 'ignore' || !signature) {
      const decision = evaluateSignature(policy, undefined, signature !== undefined, signature?.format);
      return { info: decision.signature, reject: decision.reject };
    }
    const keys = keysFor(vendor);
    let result: SignatureResult | undefined;
    if (signature.format === 'pgp') {
      result = keys.pgp.length
        ? { ...(await verifyDetachedPgp(bytes, signature.bytes, keys.pgp)), format: 'pgp' }
        : undefined;
    } else {
      const verification = keys.pem.length ? verifyDsseDocument(signature.bytes, keys.pem) : undefined;
      // A valid envelope only vouches for this document when its payload is this document: the
      // in-toto Statement's predicate (OpenVEX) or the very bytes.
      if (verification?.verified && !payloadIsDocument(verification.payload, bytes)) {
        verification.verified = false;
        verification.reason = 'the DSSE envelope is valid but its payload is not this document';
      }
      result = verification
        ? {
            verified: verification.verified,
            format: 'dsse',
            ...(verification.keyId ? { keyId: verification.keyId } : {}),
            ...(verification.reason ? { reason: verification.reason } : {}),
          }
        : undefined;
    }
    const decision = evaluateSignature(policy, result, true, signature.format);
    if (!result && decision.signature.reason)
      decision.signature.reason = `no trusted ${signature.format} keys configured for source ${vendor}`;
    return { info: decision.signature, reject: decision.reject };
  };
}
