// SPDX-License-Identifier: Apache-2.0
// Output files appear whole or not at all: decrypted bytes are only trustworthy once the tag (or
// age's last chunk) verifies at the very end, so a reader must never see a file before that.
import { randomBytes } from 'node:crypto';
import type { WriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Runs `write` against a fresh sibling temp file (same directory, so the rename is atomic) and
 * renames it onto `outPath` only when `write` resolves; on any failure the temp file is removed and
 * whatever was at `outPath` before is left untouched.
 */
export async function writeWhole(outPath: string, write: (out: WriteStream) => Promise<void>): Promise<void> {
  const temp = join(dirname(outPath), `.${basename(outPath)}.${randomBytes(6).toString('hex')}.partial`);
  // Opened here, not lazily by the stream, so the file exists before `write` runs and the cleanup
  // below cannot race a late open. 'wx': never write through something already at that name.
  const handle = await open(temp, 'wx');
  const out = handle.createWriteStream();
  try {
    await write(out);
    await rename(temp, outPath);
  } catch (error) {
    out.destroy();
    await handle.close().catch(() => undefined); // already closed when the stream got that far
    await rm(temp, { force: true });
    throw error;
  }
}
