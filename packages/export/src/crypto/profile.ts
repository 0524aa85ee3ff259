// SPDX-License-Identifier: Apache-2.0
// What a profile's `encryption` block asks of a run (docs/encryption.md): which mode, for whom, and
// what is refused at submission so an encrypted profile never yields a run that leaks plaintext or
// that nobody can open. Pure: the worker and submission both read the same answer.
import type { ExportProfile } from '../profiles/schema.ts';
import { recipientProblems } from './recipients.ts';

export type EncryptionMode = 'aes-gcm' | 'age';

export interface EncryptionPlan {
  /**
   * `aes-gcm`: the adapter's data files are encrypted one by one under a per-run data key wrapped
   * for each recipient (the spec's envelope pattern); manifests, indexes and trust files stay
   * readable. `age`: the whole archive becomes one age file that Debian's `age -d` opens.
   */
  mode: EncryptionMode;
  /** The age X25519 recipients, deduplicated and in byte order. */
  recipients: string[];
  /** Keys this build cannot wrap for (kms://) that a non-strict profile lets the run skip. */
  skipped: string[];
}

export interface EncryptionProblem {
  pointer: string;
  message: string;
}

const POINTER = '/spec/encryption/recipientKeys';

/**
 * The profile's encryption as a run applies it, or undefined when it is off. Call only on a profile
 * that encryptionProblems accepted.
 */
export function encryptionPlan(profile: ExportProfile): EncryptionPlan | undefined {
  const encryption = profile.spec.encryption;
  if (!encryption?.enabled) return undefined;
  const keys = encryption.recipientKeys ?? [];
  const usable = keys.filter((k) => !k.startsWith('kms://'));
  return {
    mode: encryption.mode ?? 'aes-gcm',
    recipients: [...new Set(usable)].sort(),
    skipped: keys.filter((k) => k.startsWith('kms://')),
  };
}

/**
 * Why the profile's encryption cannot be honoured, each at its JSON pointer. `strict` (default true)
 * refuses a profile naming any key this build cannot wrap for; `strict: false` lets the run skip
 * kms:// keys as long as one age recipient remains. A malformed key is refused either way.
 */
export function encryptionProblems(profile: ExportProfile): EncryptionProblem[] {
  const encryption = profile.spec.encryption;
  if (!encryption?.enabled) return [];
  const keys = encryption.recipientKeys ?? [];
  const strict = encryption.strict ?? true;
  const problems = recipientProblems(keys, POINTER).filter(
    (p) => strict || p.pointer === POINTER || !keys[Number(p.pointer.slice(POINTER.length + 1))]?.startsWith('kms://'),
  );
  if (!strict && keys.length > 0 && keys.every((k) => k.startsWith('kms://'))) {
    problems.push({
      pointer: POINTER,
      message: 'every key is kms://, and KMS is not available in this build: add an age1… recipient',
    });
  }
  if (profile.spec.kind === 'trivy' && profile.spec.distribution.includes('oci')) {
    problems.push({
      pointer: '/spec/distribution',
      message:
        'the oci distribution pushes the Trivy DB as an artifact Trivy pulls in clear, which encryption forbids: drop oci (download the encrypted bundle instead) or disable encryption',
    });
  }
  return problems;
}
