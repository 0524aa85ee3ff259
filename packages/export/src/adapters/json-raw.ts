// SPDX-License-Identifier: Apache-2.0
// The json:raw adapter (spec §2.1): canonical JSONL of the selected raw advisories and VEX, one
// record per line in record-id byte order. Each line is the AOC envelope with `content.raw` holding
// the upstream document exactly as received (a JSON string), so sha256(content.raw) equals
// upstream.content_hash and every record can be checked on its own. Files are staged on disk while
// they are hashed: memory stays flat whatever the number of documents. json:policy (json-policy.ts)
// is json:raw plus policy files, so the pieces both write with are exported from here.
import { countRawForExport, forEachHeadLinePage, type RawStore } from '@stella/aoc';
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
import { JSONL_CONTENT_TYPE, materialLine, type PayloadWriter, payloadWriter } from './payload.ts';

const NEWLINE = Buffer.from('\n');

/** The raw families json:raw (and json:policy) write, in bundle order; SBOMs arrive later. */
const STORES: { include: string; store: RawStore; path: string }[] = [
  { include: 'advisories', store: 'advisory_raw', path: 'data/raw/advisories.jsonl' },
  { include: 'vex', store: 'vex_raw', path: 'data/raw/vex.jsonl' },
];
/** The raw families, as a profile's `include` names them. */
export const RAW_FAMILIES: readonly string[] = STORES.map((s) => s.include);

/** What a profile names but `format` cannot build: families it does not write. */
export function refuseUnsupported(
  profile: ExportProfile,
  format: string,
  writable: readonly string[],
): ProfileProblem[] {
  const problems: ProfileProblem[] = [];
  const missing = (profile.spec.include ?? []).filter((f) => !writable.includes(f));
  if (missing.length > 0) {
    problems.push({
      pointer: '/spec/include',
      message: `${format} cannot export ${missing.join(', ')} yet (only ${writable.join(', ')})`,
    });
  }
  return problems;
}

/** How many raw records of the given families the selectors match. */
export async function countRaw(input: AdapterInput, families: readonly string[]): Promise<number> {
  let total = 0;
  for (const s of STORES) {
    if (families.includes(s.include))
      total += await countRawForExport(input.db, input.tenant, s.store, input.selectors);
  }
  return total;
}

/**
 * One store into its JSONL file, and each record's descriptor into the shared materials file. The
 * lines come from the database ready-made (the records' export frames, made at ingest): no JSON is
 * parsed or serialised here.
 */
async function serialiseStore(
  context: SerialiseContext,
  s: (typeof STORES)[number],
  writer: PayloadWriter,
): Promise<StagedFile> {
  const out = writer.stage(s.path);
  let records = 0;
  await forEachHeadLinePage(context.db, context.tenant, s.store, context.selectors, context.pageSize, async (page) => {
    // The page's lines as one buffer: each line's UTF-8 bytes and a newline.
    const lines: Buffer[] = [];
    let materialLines = '';
    for (const record of page) {
      lines.push(record.line, NEWLINE);
      materialLines += materialLine(
        record.id,
        `stella://${s.store}/${encodeURIComponent(record.id)}`,
        record.contentHash,
      );
      writer.seen(record.retrievedAt);
    }
    await out.write(Buffer.concat(lines));
    await writer.material(materialLines, page.length);
    records += page.length;
    await writer.report(page.length);
  });
  return out.close(records, JSONL_CONTENT_TYPE);
}

/** The raw families' JSONL files, in bundle order. */
export async function serialiseRaw(
  context: SerialiseContext,
  families: readonly string[],
  writer: PayloadWriter,
): Promise<StagedFile[]> {
  const files: StagedFile[] = [];
  for (const s of STORES) {
    if (families.includes(s.include)) files.push(await serialiseStore(context, s, writer));
  }
  return files;
}

/** What a profile without `include` exports. */
const DEFAULT_FAMILIES: readonly string[] = ['advisories', 'vex'];
const familiesOf = (profile: ExportProfile): readonly string[] => profile.spec.include ?? DEFAULT_FAMILIES;

async function select(input: AdapterInput): Promise<Selection> {
  const families = familiesOf(input.profile);
  return { total: await countRaw(input, families), families };
}

async function serialise(context: SerialiseContext, selection: Selection): Promise<AdapterOutput> {
  const writer = payloadWriter(context, selection);
  const files = await serialiseRaw(context, selection.families, writer);
  return writer.finish(files);
}

export const jsonRawAdapter: ExportAdapter = {
  kind: 'json',
  variant: 'raw',
  payloadPrefix: 'data/',
  refuse: (profile) => refuseUnsupported(profile, 'json:raw', RAW_FAMILIES),
  select,
  serialise,
};
