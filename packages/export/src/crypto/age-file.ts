// SPDX-License-Identifier: Apache-2.0
// Whole files in the plain age format, for interop with Debian's `age` (e.g. a bundle encrypted as
// one file, or a key handed over out of band). Streaming both ways: age-encryption takes and returns
// web streams and works in 64 KiB chunks, so memory stays bounded whatever the file size.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { StellaError } from '@stella/core';
import { Decrypter, Encrypter } from 'age-encryption';
import { ExportErrors } from '../errors.ts';
import { writeWhole } from './output.ts';
import { parseAgeIdentities, parseAgeRecipients } from './recipients.ts';

/** Encrypts inPath to outPath as a binary age file for the given recipients (validated as for a profile). */
export async function ageEncryptFile(recipients: readonly string[], inPath: string, outPath: string): Promise<void> {
  const encrypter = new Encrypter();
  for (const recipient of parseAgeRecipients(recipients)) encrypter.addRecipient(recipient);
  await writeWhole(outPath, async (out) => {
    const ciphertext = await encrypter.encrypt(fileStream(inPath));
    await pipeline(Readable.fromWeb(ciphertext as NodeReadableStream<Uint8Array>), out);
  });
}

/**
 * Decrypts a binary age file (as `age -r` writes it; not armored) with any of the identities.
 * No matching identity, altered or truncated ciphertext → ERR_EXPORT_DECRYPT, nothing at outPath.
 */
export async function ageDecryptFile(identities: readonly string[], inPath: string, outPath: string): Promise<void> {
  const decrypter = new Decrypter();
  for (const identity of parseAgeIdentities(identities.join('\n'))) decrypter.addIdentity(identity);
  await writeWhole(outPath, async (out) => {
    try {
      const plaintext = await decrypter.decrypt(fileStream(inPath));
      await pipeline(Readable.fromWeb(plaintext as NodeReadableStream<Uint8Array>), out);
    } catch (error) {
      // A file system error (missing input, full disk) keeps its own code; the rest is the library
      // saying the header, an identity match or a chunk did not check out.
      if (isSystemError(error)) throw error;
      throw new StellaError(ExportErrors.decrypt, `${inPath} does not decrypt: ${(error as Error).message}`, {
        cause: error,
      });
    }
  });
}

function fileStream(path: string): ReadableStream<Uint8Array> {
  return Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>;
}

function isSystemError(error: unknown): boolean {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string';
}
