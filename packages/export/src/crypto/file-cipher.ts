// SPDX-License-Identifier: Apache-2.0
// Per-file AES-256-GCM under a run's data key (spec: kms-envelope-pattern). Layout of an encrypted
// file: 12-byte random nonce ‖ ciphertext (as long as the plaintext) ‖ 16-byte GCM tag. The AAD is
// `{runId}:{relativePath}`, so a file moved to another path or run does not decrypt.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StellaError } from '@stella/core';
import { ExportErrors } from '../errors.ts';
import { writeWhole } from './output.ts';

export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
const KEY_BYTES = 32;
// GCM counts 16-byte blocks with a 32-bit counter per nonce (two values are reserved): past
// 2^32 − 2 blocks (~64 GiB) the keystream would repeat, and OpenSSL refuses mid-stream.
export const MAX_PLAINTEXT_BYTES = (2 ** 32 - 2) * 16;
// Larger reads than the 64 KiB default: fewer cipher calls, still a bounded amount of memory.
const CHUNK_BYTES = 1024 * 1024;

/** The additional authenticated data binding a file to its run and place in the bundle. */
export function fileAad(runId: string, relativePath: string): Buffer {
  // Both sides must spell the path the same way; refuse what would make that ambiguous.
  if (runId === '') throw new RangeError('runId must not be empty');
  if (relativePath === '' || relativePath.startsWith('/') || relativePath.includes('\\')) {
    throw new RangeError(`relativePath must be a relative POSIX path inside the bundle, not ${relativePath}`);
  }
  return Buffer.from(`${runId}:${relativePath}`, 'utf8');
}

function checkKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) throw new RangeError(`the data key must be ${KEY_BYTES} bytes, not ${key.length}`);
}

/** Encrypts inPath to outPath (streaming; outPath appears only when complete). */
export async function encryptFile(
  key: Buffer,
  runId: string,
  relativePath: string,
  inPath: string,
  outPath: string,
): Promise<void> {
  checkKey(key);
  const aad = fileAad(runId, relativePath);
  const { size } = await stat(inPath);
  if (size > MAX_PLAINTEXT_BYTES) {
    throw new StellaError(
      ExportErrors.adapter,
      `${relativePath} is ${size} bytes; AES-GCM encrypts at most ${MAX_PLAINTEXT_BYTES} bytes under one nonce: split the file`,
    );
  }
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  await writeWhole(outPath, (out) =>
    pipeline(
      createReadStream(inPath, { highWaterMark: CHUNK_BYTES }),
      async function* (plaintext: AsyncIterable<Buffer>) {
        yield nonce;
        for await (const chunk of plaintext) yield cipher.update(chunk);
        yield cipher.final();
        yield cipher.getAuthTag();
      },
      out,
    ),
  );
}

/**
 * Decrypts what encryptFile wrote. A wrong key, another runId or relativePath, or any altered,
 * added or missing byte fails with ERR_EXPORT_DECRYPT and leaves nothing at outPath.
 */
export async function decryptFile(
  key: Buffer,
  runId: string,
  relativePath: string,
  inPath: string,
  outPath: string,
): Promise<void> {
  checkKey(key);
  const aad = fileAad(runId, relativePath);
  const input = await open(inPath, 'r');
  try {
    const { size } = await input.stat();
    if (size < NONCE_BYTES + TAG_BYTES) {
      throw new StellaError(
        ExportErrors.decrypt,
        `${relativePath} is ${size} bytes, shorter than a nonce and a tag (${NONCE_BYTES + TAG_BYTES}): it was truncated`,
      );
    }
    const nonce = Buffer.alloc(NONCE_BYTES);
    const tag = Buffer.alloc(TAG_BYTES);
    await input.read(nonce, 0, NONCE_BYTES, 0);
    await input.read(tag, 0, TAG_BYTES, size - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const ciphertextEnd = size - TAG_BYTES; // exclusive
    const ciphertext =
      ciphertextEnd > NONCE_BYTES
        ? input.createReadStream({
            start: NONCE_BYTES,
            end: ciphertextEnd - 1,
            highWaterMark: CHUNK_BYTES,
            autoClose: false,
          })
        : Readable.from([]);
    await writeWhole(outPath, (out) =>
      pipeline(
        ciphertext,
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) yield decipher.update(chunk);
          let last: Buffer;
          try {
            last = decipher.final(); // checks the tag: everything written so far is unverified
          } catch (error) {
            throw new StellaError(
              ExportErrors.decrypt,
              `${relativePath} does not decrypt: wrong data key, another run or path than it was encrypted for (AAD ${aad.toString('utf8')}), or altered bytes`,
              { cause: error },
            );
          }
          yield last;
        },
        out,
      ),
    );
  } finally {
    await input.close();
  }
}
