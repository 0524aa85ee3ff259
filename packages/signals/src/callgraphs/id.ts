// Callgraph ids are derived from (tenant, graphHash): the same graph gets the same id in every
// database, so facts that name it are reproducible; the tenant in the input keeps ids of different
// tenants unrelated, so an id reveals nothing about another tenant's graphs.
import { sha256Hex } from '@stella/core';

/** Crockford-style base32 without i, l, o, u. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export function callgraphIdOf(tenant: string, graphHash: string): string {
  const digest = Buffer.from(sha256Hex(`stella.callgraph-id\u0000${tenant}\u0000${graphHash}`), 'hex');
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 26) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return `cg-${out}`;
}
