// SPDX-License-Identifier: Apache-2.0
// The file names a bundle may hold. The same rule guards writing and reading, so a bundle we
// write is always one we accept, and an archive naming `../x` or `/etc/x` never reaches the disk.

/** Bundle member names: the export manifest's `contents[].path` pattern, relative, `/`-separated. */
const SAFE_PATH_RE = /^[A-Za-z0-9._/-]+$/;
/** Longer names would need pax headers; nothing a profile writes comes close. */
const MAX_PATH_BYTES = 1024;

export const CHECKSUMS_PATH = 'checksums.txt';
export const EXPORT_MANIFEST_PATH = 'export.json';
export const PROVENANCE_PATH = 'provenance.json';
export const SIGNATURES_DIR = 'signatures/';
export const PUBLIC_KEY_PATH = 'signatures/export-center.pub';
export const EXPORT_SIGNATURE_PATH = 'signatures/export.sig';
export const EXPORT_DSSE_PATH = 'signatures/export.dsse.json';
export const PROVENANCE_DSSE_PATH = 'signatures/provenance.dsse.json';

/** Why `path` may not name a bundle member, or undefined when it may. */
export function unsafePathReason(path: string): string | undefined {
  if (path.length === 0) return 'empty path';
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return `path longer than ${MAX_PATH_BYTES} bytes`;
  if (path.startsWith('/')) return 'absolute path';
  if (path.includes('\\')) return 'backslash in path';
  const segments = path.split('/');
  if (segments.some((s) => s === '..')) return "'..' segment";
  if (segments.some((s) => s === '.' || s === '')) return "empty or '.' segment";
  if (!SAFE_PATH_RE.test(path)) return 'characters outside [A-Za-z0-9._/-]';
  return undefined;
}

/** Byte order of the UTF-8 names: what `sort` in the C locale and every other verifier agree on. */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Files covered by checksums.txt: everything except itself and the signatures that sign over it. */
export function isChecksummed(path: string): boolean {
  return path !== CHECKSUMS_PATH && !path.startsWith(SIGNATURES_DIR);
}
