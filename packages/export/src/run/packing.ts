// SPDX-License-Identifier: Apache-2.0
// The pack and self-check phases: the adapter's staged files and the worker's own small files become
// one deterministic archive in the staging directory, which is then read back and checked before
// anything reaches CAS.
import { verify } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { dsseVerify, parseDsseEnvelope, StellaError } from '@stella/core';
import type { AdapterOutput } from '../adapters/adapter.ts';
import {
  type BundleEntry,
  type BundleFile,
  bundleExtension,
  bundleMediaType,
  EXPORT_DSSE_PATH,
  EXPORT_SIGNATURE_PATH,
  readTrivyDb,
  tarDigestOf,
  verifyFileSignature,
  type WrittenBundle,
  writeBundle,
} from '../bundle/index.ts';
import { ExportErrors } from '../errors.ts';
import { TRIVY_DB_LAYER_MEDIA_TYPE } from '../oci/trivy.ts';
import type { RunContext } from './context.ts';
import type { BuiltManifest, BundleSettings } from './manifests.ts';
import type { SignedManifests } from './signing.ts';

export interface PackedBundle {
  /** The staged archive. */
  path: string;
  fileName: string;
  mediaType: string;
  written: WrittenBundle;
}

/**
 * Writes the archive; a run cancelled while it was written stops here, before anything is stored.
 * `encrypted` names the data files whose ciphertext goes in instead (profile encryption aes-gcm).
 */
export async function packBundle(
  ctx: RunContext,
  output: AdapterOutput,
  signed: SignedManifests,
  settings: BundleSettings,
  manifest: BuiltManifest,
  encrypted: ReadonlyMap<string, { file: string; size: number }>,
): Promise<PackedBundle> {
  const entries: BundleEntry[] = [
    ...output.files.map((f) => {
      const staged = encrypted.get(f.path) ?? { file: f.file, size: f.size };
      return { path: f.path, size: staged.size, source: staged.file };
    }),
    ...signed.files.map((f) => ({ path: f.path, size: f.bytes.length, source: f.bytes })),
  ];
  const fileName = `${output.fileStem ?? `${ctx.profile.metadata.name}-${manifest.exportId}`}${bundleExtension(settings.codec)}`;
  const path = join(ctx.staging, fileName);
  const out = createWriteStream(path);
  const written = await writeBundle(entries, { mtime: settings.mtime, compression: settings.compression }, out);
  if (!out.writableFinished) await once(out, 'finish');
  await ctx.checkpoint();
  return { path, fileName, mediaType: bundleMediaType(settings.codec), written };
}

/** The self-check phase; a failure is ERR_EXPORT_009 and counted in exporter_verify_failures_total. */
export async function checkBundle(
  ctx: RunContext,
  packed: PackedBundle,
  manifest: BuiltManifest,
  signed: SignedManifests,
  publicKeyPem: string,
  output: AdapterOutput,
): Promise<void> {
  try {
    await checkWrittenBundle(packed.path, packed.written, manifest.bytes, signed.signatures, publicKeyPem);
    await smokeCheck(output, signed.signatures, publicKeyPem);
  } catch (error) {
    ctx.services.metrics.verifyFailure(ctx.run.profile_kind);
    throw error;
  }
}

/**
 * The seed's CI smoke, run before anything is published: every detached signature verifies over its
 * staged file (cosign verify-blob), and every Trivy DB opens as Trivy would open it (the import).
 */
async function smokeCheck(
  output: AdapterOutput,
  signatures: readonly BundleFile[],
  publicKeyPem: string,
): Promise<void> {
  const fail = (why: string) => new StellaError(ExportErrors.verify, `the bundle failed its own verification: ${why}`);
  for (const detached of output.detachedSignatures ?? []) {
    const staged = output.files.find((f) => f.path === detached.of)!;
    const sig = signatures.find((s) => s.path === detached.path)!;
    const raw = Buffer.from(Buffer.from(sig.bytes).toString('utf8').trim(), 'base64');
    if (!(await verifyFileSignature(staged.file, publicKeyPem, raw))) {
      throw fail(`${detached.path} does not verify over ${detached.of}`);
    }
  }
  for (const staged of output.files.filter((f) => f.contentType === TRIVY_DB_LAYER_MEDIA_TYPE)) {
    await readTrivyDb(staged.file, undefined).catch((error: Error) => {
      throw fail(`${staged.path}: ${error.message}`);
    });
  }
}

/**
 * Reads the file just written back in one streaming pass and checks that it decodes to exactly the
 * tar that was produced, and that export.json's signatures verify with the tenant key, so a
 * compressor or disk fault never reaches CAS. (`stella export verify` does the full offline check,
 * entry by entry, on the far side.)
 */
async function checkWrittenBundle(
  bundlePath: string,
  written: { tarDigest: string; tarBytes: number },
  manifest: Uint8Array,
  signatures: readonly BundleFile[],
  publicKeyPem: string,
): Promise<void> {
  const fail = (why: string) => new StellaError(ExportErrors.verify, `the bundle failed its own verification: ${why}`);
  const read = await tarDigestOf(bundlePath);
  if (read.digest !== written.tarDigest || read.bytes !== written.tarBytes) {
    throw fail(
      `it decodes to ${read.bytes} bytes with ${read.digest}, not the ${written.tarBytes} bytes written (${written.tarDigest})`,
    );
  }
  const bytesOf = (path: string) => signatures.find((s) => s.path === path)!.bytes;
  const sig = Buffer.from(Buffer.from(bytesOf(EXPORT_SIGNATURE_PATH)).toString('utf8').trim(), 'base64');
  if (!verify('sha256', manifest, publicKeyPem, sig)) throw fail(`${EXPORT_SIGNATURE_PATH} does not verify`);
  const envelope = parseDsseEnvelope(JSON.parse(Buffer.from(bytesOf(EXPORT_DSSE_PATH)).toString('utf8')));
  const checked = dsseVerify(envelope, [{ keyid: '', publicKey: publicKeyPem }]);
  if (!checked.verified || !checked.payload.equals(manifest)) throw fail(`${EXPORT_DSSE_PATH} does not verify`);
}
