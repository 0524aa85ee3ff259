// SPDX-License-Identifier: Apache-2.0
// Who may decrypt: a profile's recipientKeys become the sorted, deduplicated age X25519 recipients
// a run's data key is wrapped for, and an age identity file becomes the secret keys that unwrap it.
import { StellaError } from '@stella/core';
import { Decrypter, Encrypter } from 'age-encryption';
import { ExportErrors } from '../errors.ts';

// An X25519 recipient is "age1" + bech32 of 32 bytes (52 characters) + a 6-character checksum. The
// shape is checked here so post-quantum (age1pq1…) and tag (age1tag1…) recipients, which Debian's
// age 1.1.1 cannot decrypt, are refused; the library's parser then checks the checksum.
const X25519_RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;
const X25519_IDENTITY = /^AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}$/;

/** An identity file holds a handful of keys; anything larger is not one (and is not read further). */
export const MAX_IDENTITY_FILE_CHARS = 64 * 1024;

export interface RecipientProblem {
  pointer: string;
  message: string;
}

/**
 * Validates recipient keys and returns them sorted (byte order, as provenance lists them) and
 * deduplicated. Refuses kms:// keys (no KMS in this build) and anything that is not an age X25519
 * recipient, with ERR_EXPORT_001 listing every bad entry by its JSON pointer. A bad entry is never
 * echoed: a secret key pasted into the wrong field must not reach logs.
 */
export function parseAgeRecipients(keys: readonly string[], pointer = '/spec/encryption/recipientKeys'): string[] {
  const problems = recipientProblems(keys, pointer);
  if (problems.length > 0) {
    throw new StellaError(
      ExportErrors.validation,
      `encryption recipients refused: ${problems.map((p) => `${p.pointer}: ${p.message}`).join('; ')}`,
      { details: { errors: problems } },
    );
  }
  return [...new Set(keys)].sort();
}

/** Every bad entry of `keys` at its JSON pointer (none when all are age X25519 recipients). */
export function recipientProblems(
  keys: readonly string[],
  pointer = '/spec/encryption/recipientKeys',
): RecipientProblem[] {
  const problems: RecipientProblem[] = [];
  if (keys.length === 0) {
    problems.push({ pointer, message: 'at least one age1… recipient is needed, or nobody could decrypt the bundle' });
  }
  keys.forEach((key, index) => {
    const problem = recipientProblem(key);
    if (problem) problems.push({ pointer: `${pointer}/${index}`, message: problem });
  });
  return problems;
}

function recipientProblem(key: unknown): string | undefined {
  if (typeof key !== 'string') return 'not a string';
  if (key.startsWith('kms://')) {
    return `KMS is not available in this build (${key}); wrap for age1… recipients instead (age-keygen prints one)`;
  }
  if (key.startsWith('AGE-SECRET-KEY-')) {
    return 'this is an age secret key, not a recipient: list its public key (age-keygen -y <file>) and keep the secret out of the profile';
  }
  if (key.startsWith('age1pq1') || key.startsWith('age1tag')) {
    return 'post-quantum and tag recipients are not supported (Debian age 1.1.1 cannot decrypt them); use an X25519 recipient';
  }
  if (!X25519_RECIPIENT.test(key))
    return 'not an age X25519 recipient (age1 followed by 58 lowercase bech32 characters)';
  try {
    new Encrypter().addRecipient(key); // decodes the bech32 payload and checks its checksum
  } catch {
    return 'not an age X25519 recipient: its bech32 checksum does not verify (a character was mistyped)';
  }
  return undefined;
}

/**
 * Reads an age identity file (age-keygen's output): one AGE-SECRET-KEY-1… per line, `#` comments and
 * blank lines skipped. Returns the identities deduplicated, in file order. Refuses the whole file with
 * ERR_EXPORT_DECRYPT_IDENTITY naming the first bad line (by number, never its content: it may be a key).
 */
export function parseAgeIdentities(text: string): string[] {
  if (text.length > MAX_IDENTITY_FILE_CHARS) {
    throw new StellaError(
      ExportErrors.decryptIdentity,
      `the identity file is larger than ${MAX_IDENTITY_FILE_CHARS} characters; is it an age identity file?`,
    );
  }
  const identities: string[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim(); // tolerates CRLF files and trailing blanks, which age-keygen never writes
    if (line === '' || line.startsWith('#')) continue;
    const problem = identityProblem(line);
    if (problem) throw new StellaError(ExportErrors.decryptIdentity, `identity file line ${index + 1}: ${problem}`);
    identities.push(line);
  }
  if (identities.length === 0) {
    throw new StellaError(ExportErrors.decryptIdentity, 'the identity file holds no AGE-SECRET-KEY-1… line');
  }
  return [...new Set(identities)];
}

function identityProblem(line: string): string | undefined {
  if (line.startsWith('AGE-PLUGIN-')) return 'age plugin identities are not supported';
  if (line.startsWith('AGE-SECRET-KEY-PQ-')) return 'post-quantum identities are not supported';
  if (!X25519_IDENTITY.test(line)) return 'not an age X25519 identity (AGE-SECRET-KEY-1…)';
  try {
    new Decrypter().addIdentity(line); // decodes the bech32 payload and checks its checksum
  } catch {
    return 'not an age X25519 identity: its bech32 checksum does not verify';
  }
  return undefined;
}
