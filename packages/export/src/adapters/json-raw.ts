// SPDX-License-Identifier: Apache-2.0
// The json:raw adapter (spec §2.1): canonical JSONL of the selected raw advisories and VEX, one
// record per line in record-id byte order. Each line is the AOC envelope with `content.raw` holding
// the upstream document exactly as received (a JSON string), so sha256(content.raw) equals
// upstream.content_hash and every record can be checked on its own. Files are staged on disk while
// they are hashed: memory stays flat whatever the number of documents.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { countRawForExport, type RawSelectors, type RawStore, streamRawForExport } from '@stella/aoc';
import { canonicalJson } from '@stella/core';
import type { Db } from '@stella/platform';

export interface StagedFile {
  path: string;
  file: string;
  size: number;
  digest: string;
  records: number;
  contentType: string;
}

export interface AdapterContext {
  db: Db;
  tenant: string;
  selectors: RawSelectors;
  include: readonly string[];
  stagingDir: string;
  pageSize: number;
  /** Reports progress (rate-limited by the caller); throws when the run was cancelled meanwhile. */
  progress(itemsCompleted: number, itemsTotal: number): Promise<void>;
}

export interface AdapterResult {
  files: StagedFile[];
  records: number;
  /** Newest retrieved_at of the exported documents (the bundle's default timestamp). */
  newest: string | undefined;
  /**
   * provenance/materials.jsonl: one SLSA resource descriptor per exported record (its id, store URI
   * and content hash), referenced from provenance.json by digest so the statement stays small.
   */
  materials: StagedFile;
}

const STORES: { include: string; store: RawStore; path: string }[] = [
  { include: 'advisories', store: 'advisory_raw', path: 'data/raw/advisories.jsonl' },
  { include: 'vex', store: 'vex_raw', path: 'data/raw/vex.jsonl' },
];
export const JSONL_CONTENT_TYPE = 'application/x-ndjson';
export const MATERIALS_PATH = 'provenance/materials.jsonl';

// A page of JSONL is a few hundred KiB: a deep write buffer lets the disk write one page while the
// next is serialised, where the default 16 KiB would wait for every write.
const WRITE_BUFFER = 8 << 20;

/** Writes to a file stream honouring backpressure, hashing as it goes. */
class HashedFile {
  readonly hash = createHash('sha256');
  size = 0;
  readonly stream: WriteStream;
  constructor(stream: WriteStream) {
    this.stream = stream;
  }
  async write(text: string): Promise<void> {
    const bytes = Buffer.from(text, 'utf8');
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

export async function planJsonRaw(ctx: Pick<AdapterContext, 'db' | 'tenant' | 'selectors' | 'include'>) {
  let total = 0;
  for (const s of STORES) {
    if (ctx.include.includes(s.include)) total += await countRawForExport(ctx.db, ctx.tenant, s.store, ctx.selectors);
  }
  return total;
}

export async function runJsonRaw(ctx: AdapterContext, total: number): Promise<AdapterResult> {
  const files: StagedFile[] = [];
  const materialsFile = join(ctx.stagingDir, 'materials.jsonl');
  const deps = new HashedFile(createWriteStream(materialsFile, { highWaterMark: WRITE_BUFFER }));
  let completed = 0;
  let newest: string | undefined;
  for (const s of STORES) {
    if (!ctx.include.includes(s.include)) continue;
    const file = join(ctx.stagingDir, s.path.replaceAll('/', '_'));
    const out = new HashedFile(createWriteStream(file, { highWaterMark: WRITE_BUFFER }));
    let records = 0;
    for await (const page of streamRawForExport(ctx.db, ctx.tenant, s.store, ctx.selectors, ctx.pageSize)) {
      let lines = '';
      let depLines = '';
      for (const record of page) {
        const envelope = { ...record.envelope, content: { ...record.envelope.content, raw: record.raw } };
        lines += `${canonicalJson(envelope)}\n`;
        depLines += `${canonicalJson({
          digest: { sha256: record.envelope.upstream.content_hash.replace(/^sha256:/, '') },
          name: record.envelope.id,
          uri: `stella://${s.store}/${encodeURIComponent(record.envelope.id)}`,
        })}\n`;
        if (newest === undefined || record.retrievedAt > newest) newest = record.retrievedAt;
      }
      await out.write(lines);
      await deps.write(depLines);
      records += page.length;
      completed += page.length;
      await ctx.progress(completed, Math.max(total, completed));
    }
    const digest = await out.close();
    files.push({ path: s.path, file, size: out.size, digest, records, contentType: JSONL_CONTENT_TYPE });
  }
  const materials: StagedFile = {
    path: MATERIALS_PATH,
    file: materialsFile,
    digest: await deps.close(),
    size: deps.size,
    records: completed,
    contentType: JSONL_CONTENT_TYPE,
  };
  return { files, records: completed, newest, materials };
}
