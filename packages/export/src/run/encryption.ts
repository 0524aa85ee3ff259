// SPDX-License-Identifier: Apache-2.0
// The encrypt phase (docs/encryption.md, spec §2.5 "Encryption"). Everything before it (manifests,
// provenance, signatures) is made over the plaintext, so signatures and reproducibility cover the
// plaintext bundle and are checked after decrypting. Mode aes-gcm swaps the adapter's data files for
// ciphertext before the archive is packed; mode age packs and self-checks the plaintext archive and
// then turns it into one age file.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StellaError } from '@stella/core';
import type { AdapterOutput } from '../adapters/adapter.ts';
import { hashFileStreaming } from '../bundle/index.ts';
import {
  ageEncryptFile,
  type BundleEncryptionRecord,
  createDataKey,
  type EncryptionRecord,
  encryptFile,
} from '../crypto/index.ts';
import { type EncryptionPlan, encryptionPlan } from '../crypto/profile.ts';
import { ExportErrors } from '../errors.ts';
import type { RunContext } from './context.ts';
import type { PackedBundle } from './packing.ts';

/** What the media type of a whole-bundle age file is recorded as (age has no registered type). */
export const AGE_BUNDLE_MEDIA_TYPE = 'application/vnd.age';
export const AGE_EXTENSION = '.age';

export interface RunEncryption {
  plan: EncryptionPlan;
  /** provenance.json `environment.encryption`. */
  record: EncryptionRecord | BundleEncryptionRecord;
  /** The run's data key (aes-gcm only); it lives in memory for the run and is never stored unwrapped. */
  key?: Buffer;
}

/** The run's encryption, or undefined when its profile has none; the aes-gcm data key is made here. */
export async function prepareEncryption(ctx: RunContext, output: AdapterOutput): Promise<RunEncryption | undefined> {
  const plan = encryptionPlan(ctx.profile);
  if (!plan) return undefined;
  if (plan.skipped.length > 0) {
    // Submission let these through only because the profile says strict: false.
    ctx.log.warn({ skipped: plan.skipped.length }, 'encryption: kms:// recipient keys skipped (no KMS in this build)');
  }
  if (plan.mode === 'age') {
    return {
      plan,
      record: { mode: 'age', scope: 'bundle', recipients: plan.recipients.map((recipient) => ({ recipient })) },
    };
  }
  const files = output.files.filter((f) => f.path.startsWith(ctx.adapter.payloadPrefix)).map((f) => f.path);
  if (files.length === 0) {
    throw new StellaError(
      ExportErrors.adapter,
      `encryption: the ${ctx.run.profile_kind} run staged no data files to encrypt`,
    );
  }
  const { key, record } = await createDataKey(plan.recipients, ctx.run.run_id, files);
  return { plan, record, key };
}

/**
 * Mode aes-gcm: an encrypted copy of each data file, bound to its run and path by the AAD, as the
 * archive entries to pack in place of the plaintext. Empty for mode age.
 */
export async function encryptPayload(
  ctx: RunContext,
  output: AdapterOutput,
  encryption: RunEncryption | undefined,
): Promise<Map<string, { file: string; size: number }>> {
  const replaced = new Map<string, { file: string; size: number }>();
  if (!encryption?.key || encryption.record.scope !== 'files') return replaced;
  const wanted = new Set(encryption.record.files);
  let index = 0;
  for (const staged of output.files) {
    if (!wanted.has(staged.path)) continue;
    const file = join(ctx.staging, `encrypted-${index++}`);
    await encryptFile(encryption.key, ctx.run.run_id, staged.path, staged.file, file);
    replaced.set(staged.path, { file, size: (await stat(file)).size });
    await ctx.checkpoint();
  }
  return replaced;
}

/** Mode age: the checked plaintext archive becomes `<name>.age`, which is what is stored and distributed. */
export async function sealArchive(
  ctx: RunContext,
  packed: PackedBundle,
  encryption: RunEncryption | undefined,
): Promise<PackedBundle> {
  if (encryption?.record.scope !== 'bundle') return packed;
  const path = `${packed.path}${AGE_EXTENSION}`;
  await ageEncryptFile(encryption.plan.recipients, packed.path, path);
  const sealed = await hashFileStreaming(path);
  await ctx.checkpoint();
  return {
    path,
    fileName: `${packed.fileName}${AGE_EXTENSION}`,
    mediaType: AGE_BUNDLE_MEDIA_TYPE,
    // The tar digest stays the plaintext's: what `stella export decrypt` (or `age -d`) gives back.
    written: { ...packed.written, digest: `sha256:${sealed.hex}`, bytes: sealed.bytes },
  };
}
