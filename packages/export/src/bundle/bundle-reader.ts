// SPDX-License-Identifier: Apache-2.0
// Reading an extracted bundle for verification: its regular files, each hashed once as a stream and
// on demand, and its small metadata files with a size cap. Shared by the checks in verify.ts and
// verify-contents.ts.
import { createHash, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { comparePaths } from './paths.ts';

/** Manifests, envelopes, keys and checksums are small; a bigger one is hostile, not a bundle. */
const MAX_METADATA_BYTES = 64 * 1024 * 1024;

export interface VerifyCheck {
  /** The bundle member the check is about (forward slashes, relative to the bundle root). */
  file: string;
  check: string;
  ok: boolean;
  reason?: string;
}

export interface FileDigest {
  hex: string;
  bytes: number;
}

/** Regular files under `dir`, relative with `/`; anything else (links, devices) is a failed check. */
export async function listFiles(dir: string, checks: VerifyCheck[]): Promise<Set<string>> {
  const files = new Set<string>();
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(join(dir, rel))).sort(comparePaths);
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const info = await lstat(join(dir, path));
      if (info.isDirectory()) await walk(path);
      else if (info.isFile()) files.add(path);
      else checks.push({ file: path, check: 'regular file', ok: false, reason: 'not a regular file (link or device)' });
    }
  };
  await walk('');
  return files;
}

export function hashFileStreaming(path: string): Promise<FileDigest> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    createReadStream(path)
      .on('data', (chunk) => {
        hash.update(chunk);
        bytes += chunk.length;
      })
      .on('error', reject)
      .on('end', () => resolve({ hex: hash.digest('hex'), bytes }));
  });
}

export class BundleReader {
  private readonly digests = new Map<string, Promise<FileDigest>>();
  readonly dir: string;
  readonly files: Set<string>;
  constructor(dir: string, files: Set<string>) {
    this.dir = dir;
    this.files = files;
  }
  digest(path: string): Promise<FileDigest> {
    let digest = this.digests.get(path);
    if (!digest) {
      digest = hashFileStreaming(join(this.dir, ...path.split('/')));
      this.digests.set(path, digest);
    }
    return digest;
  }
  /** The bytes of a small metadata file, or a reason it cannot be read. */
  async small(path: string): Promise<Buffer | string> {
    if (!this.files.has(path)) return 'missing';
    const full = join(this.dir, ...path.split('/'));
    const info = await lstat(full);
    if (info.size > MAX_METADATA_BYTES) return `larger than ${MAX_METADATA_BYTES} bytes`;
    return readFile(full);
  }
}

export function parseJson(bytes: Buffer): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(bytes.toString('utf8')) };
  } catch (error) {
    return { error: `not JSON: ${(error as Error).message}` };
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The public key signatures are checked with: given by the caller, or the bundle's own. */
export interface TrustedKey {
  key: KeyObject;
  keyid: string;
}
