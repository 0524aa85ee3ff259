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
import { countRawForExport, type RawStore, streamRawForExport } from '@stella/aoc';
import { canonicalJson } from '@stella/core';
import type { ExportProfile } from '../profiles/schema.ts';
import type {
  AdapterInput,
  AdapterOutput,
  ExportAdapter,
  ProfileProblem,
  Selection,
  SerialiseContext,
  StagedFile,
} from './adapter.ts';

/** The families json:raw writes, in bundle order; SBOMs and findings arrive with the Findings room. */
const STORES: { include: string; store: RawStore; path: string }[] = [
  { include: 'advisories', store: 'advisory_raw', path: 'data/raw/advisories.jsonl' },
  { include: 'vex', store: 'vex_raw', path: 'data/raw/vex.jsonl' },
];
/** What a profile without `include` exports. */
const DEFAULT_FAMILIES: readonly string[] = ['advisories', 'vex'];
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

const familiesOf = (profile: ExportProfile): readonly string[] => profile.spec.include ?? DEFAULT_FAMILIES;

/** Refuses what json:raw would otherwise build wrongly: silently without encryption, or without the requested families. */
function refuse(profile: ExportProfile): ProfileProblem[] {
  const problems: ProfileProblem[] = [];
  if (profile.spec.encryption?.enabled) {
    problems.push({
      pointer: '/spec/encryption',
      message: 'encrypted json:raw bundles are not supported yet; disable encryption or use a mirror profile',
    });
  }
  const writable = new Set(STORES.map((s) => s.include));
  const missing = (profile.spec.include ?? []).filter((f) => !writable.has(f));
  if (missing.length > 0) {
    problems.push({
      pointer: '/spec/include',
      message: `json:raw cannot export ${missing.join(', ')} yet (only advisories, vex)`,
    });
  }
  return problems;
}

async function select(input: AdapterInput): Promise<Selection> {
  const families = familiesOf(input.profile);
  let total = 0;
  for (const s of STORES) {
    if (families.includes(s.include))
      total += await countRawForExport(input.db, input.tenant, s.store, input.selectors);
  }
  return { total, families };
}

/** One store into its JSONL file, and each record's descriptor into the shared materials file. */
async function serialiseStore(
  context: SerialiseContext,
  s: (typeof STORES)[number],
  materials: HashedFile,
  report: (records: number) => Promise<void>,
): Promise<{ file: StagedFile; newest: string | undefined }> {
  const file = join(context.stagingDir, s.path.replaceAll('/', '_'));
  const out = new HashedFile(createWriteStream(file, { highWaterMark: WRITE_BUFFER }));
  let records = 0;
  let newest: string | undefined;
  for await (const page of streamRawForExport(
    context.db,
    context.tenant,
    s.store,
    context.selectors,
    context.pageSize,
  )) {
    let lines = '';
    let materialLines = '';
    for (const record of page) {
      const envelope = { ...record.envelope, content: { ...record.envelope.content, raw: record.raw } };
      lines += `${canonicalJson(envelope)}\n`;
      materialLines += `${canonicalJson({
        digest: { sha256: record.envelope.upstream.content_hash.replace(/^sha256:/, '') },
        name: record.envelope.id,
        uri: `stella://${s.store}/${encodeURIComponent(record.envelope.id)}`,
      })}\n`;
      if (newest === undefined || record.retrievedAt > newest) newest = record.retrievedAt;
    }
    await out.write(lines);
    await materials.write(materialLines);
    records += page.length;
    await report(page.length);
  }
  const digest = await out.close();
  return { file: { path: s.path, file, size: out.size, digest, records, contentType: JSONL_CONTENT_TYPE }, newest };
}

async function serialise(context: SerialiseContext, selection: Selection): Promise<AdapterOutput> {
  const files: StagedFile[] = [];
  const materialsFile = join(context.stagingDir, 'materials.jsonl');
  const materials = new HashedFile(createWriteStream(materialsFile, { highWaterMark: WRITE_BUFFER }));
  let completed = 0;
  let newest: string | undefined;
  const report = async (records: number) => {
    completed += records;
    await context.progress(completed, Math.max(selection.total, completed));
  };
  for (const s of STORES) {
    if (!selection.families.includes(s.include)) continue;
    const store = await serialiseStore(context, s, materials, report);
    files.push(store.file);
    if (store.newest !== undefined && (newest === undefined || store.newest > newest)) newest = store.newest;
  }
  const materialsStaged: StagedFile = {
    path: MATERIALS_PATH,
    file: materialsFile,
    digest: await materials.close(),
    size: materials.size,
    records: completed,
    contentType: JSONL_CONTENT_TYPE,
  };
  return {
    files: [...files, materialsStaged],
    counts: Object.fromEntries(files.map((f) => [f.path, f.records])),
    materials: { path: MATERIALS_PATH, digest: materialsStaged.digest, records: completed },
    records: completed,
    newest,
  };
}

export const jsonRawAdapter: ExportAdapter = { kind: 'json', variant: 'raw', refuse, select, serialise };
