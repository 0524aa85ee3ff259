// SPDX-License-Identifier: Apache-2.0
// What the json adapters share while they stage a bundle's payload: files hashed as they are written
// (memory stays flat whatever the size), the per-record materials file provenance.json names by
// digest, progress over every record written, and the newest data time (the bundle's mtime).
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '@stella/core';
import type { AdapterOutput, Selection, SerialiseContext, StagedFile } from './adapter.ts';

export const JSONL_CONTENT_TYPE = 'application/x-ndjson';
export const MATERIALS_PATH = 'provenance/materials.jsonl';

// A page of JSONL is a few hundred KiB: a deep write buffer lets the disk write one page while the
// next is serialised, where the default 16 KiB would wait for every write.
const WRITE_BUFFER = 8 << 20;

/** Writes to a file stream honouring backpressure, hashing as it goes. */
export class HashedFile {
  readonly hash = createHash('sha256');
  size = 0;
  readonly stream: WriteStream;
  constructor(stream: WriteStream) {
    this.stream = stream;
  }
  async write(text: string | Uint8Array): Promise<void> {
    const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    this.hash.update(bytes);
    this.size += bytes.length;
    if (!this.stream.write(bytes)) await once(this.stream, 'drain');
  }
  async close(): Promise<string> {
    this.stream.end();
    await once(this.stream, 'finish');
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/** One materials line: an SLSA ResourceDescriptor (canonical JSON) naming a record, where it lives and its sha256. */
export function materialLine(name: string, uri: string, digest: string): string {
  return `${canonicalJson({ digest: { sha256: digest.replace(/^sha256:/, '') }, name, uri })}\n`;
}

/** A bundle member being staged: write it, then close it into the StagedFile the manifests record. */
export interface StagingFile {
  /** Text is written as UTF-8; bytes as they are. */
  write(text: string | Uint8Array): Promise<void>;
  close(records: number, contentType: string): Promise<StagedFile>;
}

export interface PayloadWriter {
  /** Opens the bundle member `path` in the staging directory. */
  stage(path: string): StagingFile;
  /** Appends materials lines describing `records` records. */
  material(lines: string, records: number): Promise<void>;
  /** Counts records written towards the progress total (the run's `records`). */
  report(records: number): Promise<void>;
  /** A data time of an exported record: the newest becomes the bundle's mtime. */
  seen(time: string): void;
  /** Closes the materials file and says what the manifests record of the staged files. */
  finish(files: StagedFile[]): Promise<AdapterOutput>;
}

function stageFile(stagingDir: string, path: string): StagingFile {
  const file = join(stagingDir, path.replaceAll('/', '_'));
  const out = new HashedFile(createWriteStream(file, { highWaterMark: WRITE_BUFFER }));
  return {
    write: (text) => out.write(text),
    async close(records, contentType) {
      const digest = await out.close();
      return { path, file, size: out.size, digest, records, contentType };
    },
  };
}

export function payloadWriter(context: SerialiseContext, selection: Selection): PayloadWriter {
  const materials = stageFile(context.stagingDir, MATERIALS_PATH);
  let materialRecords = 0;
  let completed = 0;
  let newest: string | undefined;
  return {
    stage: (path) => stageFile(context.stagingDir, path),
    async material(lines, records) {
      await materials.write(lines);
      materialRecords += records;
    },
    async report(records) {
      completed += records;
      await context.progress(completed, Math.max(selection.total, completed));
    },
    seen(time) {
      if (newest === undefined || Date.parse(time) > Date.parse(newest)) newest = time;
    },
    async finish(files) {
      const staged = await materials.close(materialRecords, JSONL_CONTENT_TYPE);
      return {
        files: [...files, staged],
        counts: Object.fromEntries(files.map((f) => [f.path, f.records])),
        materials: { path: MATERIALS_PATH, digest: staged.digest, records: materialRecords },
        records: completed,
        newest,
      };
    },
  };
}
