// SPDX-License-Identifier: Apache-2.0
// Reads upstream documents from a local directory tree (or one file): `*.json` and `*.json.gz`, with
// `.asc`/`.sha256`/`.sha512` sidecars attached. Order is the sorted relative path, and the cursor is
// the last path handed over, so a resumed run continues exactly where the previous one stopped.
// Symlinks are followed only to files that resolve inside the root; everything else is reported via
// onSkip. A new file that sorts before the cursor is picked up by the next full (cursor-less) run.
import type { Dirent } from 'node:fs';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { isoUtc } from '@stella/core';
import {
  CONNECTOR_VERSION,
  compareStrings,
  gunzipCapped,
  isDocumentName,
  parseDigestSidecar,
  SIDECAR_BYTES,
  sidecarBase,
  withEnvelopeSignature,
} from './documents.ts';
import { ConnectorError } from './errors.ts';
import { readFileCapped } from './http-client.ts';
import type { Connector, FetchedDocument, FetchOptions, FetchSkip } from './types.ts';

interface ListedFile {
  /** POSIX path relative to the root. */
  rel: string;
  /** Resolved path to read. */
  abs: string;
}

/** A git checkout of an advisory database is a common input; its object store holds no documents. */
const VCS_DIRECTORIES = new Set(['.git', '.hg', '.svn']);

function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

async function walk(root: string, onSkip: (s: FetchSkip) => void): Promise<ListedFile[]> {
  const files: ListedFile[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    let entries: Dirent[];
    entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      const abs = join(dir, entry.name);
      const rel = toPosix(relative(root, abs));
      if (entry.isDirectory()) {
        if (VCS_DIRECTORIES.has(entry.name)) onSkip({ location: rel, reason: 'version-control metadata not read' });
        else pending.push(abs);
      } else if (entry.isFile()) files.push({ rel, abs });
      else if (entry.isSymbolicLink()) {
        let target: string;
        try {
          target = await realpath(abs);
        } catch {
          onSkip({ location: rel, reason: 'dangling symlink' });
          continue;
        }
        if (!inside(root, target)) {
          onSkip({ location: rel, reason: 'symlink points outside the input root; not followed' });
          continue;
        }
        const info = await stat(target);
        if (info.isFile()) files.push({ rel, abs: target });
        // Following directory links would let a loop or a second path to the same tree in.
        else onSkip({ location: rel, reason: 'symlinked directory not followed' });
      }
    }
  }
  return files;
}

function readCapped(file: ListedFile, maxBytes: number, cursor: string): Uint8Array {
  try {
    return readFileCapped(file.abs, maxBytes, file.rel);
  } catch (err) {
    if (err instanceof ConnectorError) throw new ConnectorError(err.code, err.message, { location: file.rel, cursor });
    throw err;
  }
}

async function* fetchDirectory(options: FetchOptions): AsyncGenerator<FetchedDocument> {
  const input = resolve(options.input);
  const onSkip = options.onSkip ?? (() => {});
  let info: Awaited<ReturnType<typeof lstat>>;
  try {
    info = await lstat(input);
  } catch (err) {
    throw new ConnectorError('ERR_CONNECTOR_INPUT', `${options.input}: cannot read input (${(err as Error).message})`, {
      cause: err,
    });
  }
  let files: ListedFile[];
  if (info.isDirectory()) {
    files = await walk(await realpath(input), onSkip);
  } else if (info.isFile()) {
    // One file: its siblings are still looked at, for its sidecars only.
    const root = await realpath(dirname(input));
    const name = basename(input);
    const base = sidecarBase(name);
    const wanted = new Set([name, `${base}.asc`, `${base}.sha256`, `${base}.sha512`]);
    const siblings = await readdir(root, { withFileTypes: true });
    files = siblings
      .filter((e) => e.isFile() && wanted.has(e.name))
      .map((e) => ({ rel: e.name, abs: join(root, e.name) }));
    if (!isDocumentName(name))
      throw new ConnectorError('ERR_CONNECTOR_INPUT', `${options.input}: not a *.json or *.json.gz document`);
  } else {
    throw new ConnectorError('ERR_CONNECTOR_INPUT', `${options.input}: neither a directory nor a regular file`);
  }

  const byPath = new Map(files.map((f) => [f.rel, f]));
  const documents = files.filter((f) => isDocumentName(f.rel)).sort((a, b) => compareStrings(a.rel, b.rel));
  const cursor = options.cursor;
  let done = 0;
  for (const file of documents) {
    done++;
    if (cursor !== undefined && compareStrings(file.rel, cursor) <= 0) continue;
    options.signal?.throwIfAborted();
    const location = file.rel;
    let bytes = readCapped(file, options.limits.documentBytes, location);
    if (location.endsWith('.gz')) bytes = gunzipCapped(bytes, options.limits.documentBytes, location, location);
    const doc: FetchedDocument = { location, bytes, retrievedAt: isoUtc(options.now()), cursor: location };
    const base = sidecarBase(location);
    const asc = byPath.get(`${base}.asc`);
    if (asc) doc.signature = { format: 'pgp', bytes: readCapped(asc, SIDECAR_BYTES, location), location: asc.rel };
    for (const algorithm of ['sha512', 'sha256'] as const) {
      const sidecar = byPath.get(`${base}.${algorithm}`);
      if (sidecar && doc.declaredDigest === undefined)
        doc.declaredDigest = parseDigestSidecar(readCapped(sidecar, SIDECAR_BYTES, location), algorithm, sidecar.rel);
    }
    options.onProgress?.({ done, total: documents.length, location });
    yield withEnvelopeSignature(doc);
  }
}

export function createDirectoryConnector(): Connector {
  return { name: 'directory', version: CONNECTOR_VERSION, fetch: fetchDirectory };
}
