// SPDX-License-Identifier: Apache-2.0
// The run's data key (DEK) and its provenance record: 32 random bytes, wrapped once per recipient
// as a small age file, so any one recipient's identity (ours or Debian's `age -d`) recovers it.
import { randomBytes } from 'node:crypto';
import { StellaError } from '@stella/core';
import { Decrypter, Encrypter, identityToRecipient } from 'age-encryption';
import { ExportErrors } from '../errors.ts';
import { parseAgeIdentities, parseAgeRecipients } from './recipients.ts';

export const AAD_FORMAT = '{runId}:{relativePath}';
export const NONCE_FORMAT = '12-byte random, prefixed to each file';
const DATA_KEY_BYTES = 32;

/** One recipient's copy of the data key: base64 of a binary (unarmored) age file holding the 32 bytes. */
export interface AgeWrappedKey {
  recipient: string;
  wrappedKey: string;
}

/**
 * provenance.json `environment.encryption` of a bundle whose files are encrypted one by one (profile
 * mode `aes-gcm`): enough to decrypt with any one recipient's identity. `mode` names how the data key
 * is wrapped, as the spec's record does (`age`; `aes-gcm+kms` would be KMS).
 */
export interface EncryptionRecord {
  mode: 'age';
  scope: 'files';
  aadFormat: typeof AAD_FORMAT;
  nonceFormat: typeof NONCE_FORMAT;
  /** The `{runId}` of every file's AAD. */
  runId: string;
  /** Sorted by recipient, byte order (the spec's determinism rule for recipients). */
  recipients: AgeWrappedKey[];
  /** The bundle members that are encrypted, in byte order; every other member is plaintext. */
  files: string[];
}

/**
 * The record of a bundle encrypted whole as one age file (profile mode `age`): it sits in the
 * plaintext bundle's provenance, so it names only who can open it.
 */
export interface BundleEncryptionRecord {
  mode: 'age';
  scope: 'bundle';
  recipients: { recipient: string }[];
}

export interface DataKey {
  key: Buffer;
  record: EncryptionRecord;
}

/**
 * A fresh data key wrapped for each recipient. Recipients are validated, deduplicated and sorted by
 * parseAgeRecipients (ERR_EXPORT_001 for kms:// or malformed keys). The wrapped keys differ on every
 * call (age uses an ephemeral key), so the record is not part of any rerun hash.
 */
export async function createDataKey(
  recipients: readonly string[],
  runId: string,
  files: readonly string[],
): Promise<DataKey> {
  const sorted = parseAgeRecipients(recipients);
  const key = randomBytes(DATA_KEY_BYTES);
  const wrapped: AgeWrappedKey[] = [];
  for (const recipient of sorted) {
    // One age file per recipient rather than one file for all: each entry stands alone, so the
    // record names which recipient a copy is for and a decrypter tries only its own.
    const encrypter = new Encrypter();
    encrypter.addRecipient(recipient);
    wrapped.push({ recipient, wrappedKey: Buffer.from(await encrypter.encrypt(key)).toString('base64') });
  }
  return {
    key,
    record: {
      mode: 'age',
      scope: 'files',
      aadFormat: AAD_FORMAT,
      nonceFormat: NONCE_FORMAT,
      runId,
      recipients: wrapped,
      files: [...files].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
    },
  };
}

/**
 * The data key from a provenance record, using whichever identity matches a listed recipient.
 * ERR_EXPORT_DECRYPT when the record is not one this build reads, when no identity matches, or when
 * the matching copy does not decrypt (altered provenance).
 */
export async function unwrapDataKey(record: EncryptionRecord, identities: readonly string[]): Promise<Buffer> {
  checkRecord(record);
  const byRecipient = new Map<string, string>();
  // Checked as an identity file would be, so a bad entry is a coded error naming its position.
  for (const identity of parseAgeIdentities(identities.join('\n'))) {
    byRecipient.set(await identityToRecipient(identity), identity);
  }
  for (const entry of record.recipients) {
    const identity = byRecipient.get(entry.recipient);
    if (identity === undefined) continue;
    const decrypter = new Decrypter();
    decrypter.addIdentity(identity);
    let key: Uint8Array;
    try {
      key = await decrypter.decrypt(Buffer.from(entry.wrappedKey, 'base64'));
    } catch (error) {
      throw new StellaError(
        ExportErrors.decrypt,
        `the wrapped data key for ${entry.recipient} does not decrypt with its identity: provenance.json was altered`,
        { cause: error },
      );
    }
    if (key.length !== DATA_KEY_BYTES) {
      throw new StellaError(
        ExportErrors.decrypt,
        `the wrapped data key for ${entry.recipient} holds ${key.length} bytes, not ${DATA_KEY_BYTES}`,
      );
    }
    return Buffer.from(key);
  }
  throw new StellaError(
    ExportErrors.decrypt,
    `no identity matches recipients ${record.recipients.map((r) => r.recipient).join(', ')} (the identities given are for ${[...byRecipient.keys()].sort().join(', ') || 'nothing'})`,
  );
}

// The record comes from a downloaded provenance.json: check its shape before trusting any field.
function checkRecord(record: EncryptionRecord): void {
  const refuse = (why: string): never => {
    throw new StellaError(ExportErrors.decrypt, `provenance environment.encryption ${why}`);
  };
  if (typeof record !== 'object' || record === null) refuse('is missing');
  if (record.mode !== 'age') refuse(`has mode ${String(record.mode)}; this build reads mode age only (no KMS)`);
  if (record.scope !== 'files')
    refuse(`has scope ${String(record.scope)}, not files: nothing in the bundle is encrypted file by file`);
  if (record.aadFormat !== AAD_FORMAT || record.nonceFormat !== NONCE_FORMAT) {
    refuse(`uses aadFormat/nonceFormat this build does not know (expected ${AAD_FORMAT} and ${NONCE_FORMAT})`);
  }
  if (typeof record.runId !== 'string' || record.runId === '') refuse('has no runId');
  if (!Array.isArray(record.files) || record.files.some((f) => typeof f !== 'string')) {
    refuse('has no files list');
  }
  const entries: unknown = record.recipients;
  if (!Array.isArray(entries) || entries.length === 0) refuse('lists no recipients');
  for (const entry of entries as unknown[]) {
    const { recipient, wrappedKey } = (entry ?? {}) as Partial<AgeWrappedKey>;
    if (typeof recipient !== 'string' || typeof wrappedKey !== 'string') {
      refuse('has a recipient entry without a recipient and a wrappedKey string');
    }
  }
}
