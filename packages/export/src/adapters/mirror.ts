// SPDX-License-Identifier: Apache-2.0
// The mirror:full and mirror:delta adapters (spec §2.5 "Mirror bundle", issue 15): everything a
// disconnected stella needs to hold the same raw advisories and VEX, verbatim, with the same record
// ids, revisions and supersedes chains (AOC chains are gap-free, so a mirror carries whole chains).
//   data/raw/<family>/<nnnn>.jsonl.zst  records, AOC envelopes with content.raw as received, 10,000
//                                       per shard in record-id order (mirror/shards.ts)
//   indexes/<family>.index.json        the complete state after this bundle: every record's id,
//                                       content hash and predecessor, and the shard of those it carries
//   manifest.yaml, README.md            what is inside, for people
// A full bundle carries every revision of every chain. A delta carries only the records its base (the
// export named on the run) does not have, and lists as tombstones the base's heads withdrawn upstream
// by a revision it carries; export.json names the base by id and manifest digest. Because the indexes
// describe the whole state, a delta can be the base of the next delta. Only the `sources` selector
// applies: a time window or package filter could cut a chain, which the importer could not store.
import {
  countRawForExport,
  type RawSelectors,
  type RawStore,
  streamRawForExport,
  upstreamWithdrawn,
} from '@stella/aoc';
import { canonicalJson, StellaError } from '@stella/core';
import { stringify as yamlStringify } from 'yaml';
import { readArchiveMembers } from '../bundle/index.ts';
import { ExportErrors } from '../errors.ts';
import { sealMirror } from '../mirror/seal.ts';
import { shardWriter } from '../mirror/shards.ts';
import type { ExportProfile } from '../profiles/schema.ts';
import type { Selectors } from '../selectors.ts';
import type {
  AdapterInput,
  AdapterOutput,
  DeltaRecord,
  ExportAdapter,
  Selection,
  SerialiseContext,
  StagedFile,
} from './adapter.ts';
import { RAW_FAMILIES, refuseUnsupported } from './json-raw.ts';
import { materialLine, type PayloadWriter, payloadWriter } from './payload.ts';

export const MIRROR_FORMAT = 'stella-mirror/v1';
const STORES: readonly { include: string; store: RawStore }[] = [
  { include: 'advisories', store: 'advisory_raw' },
  { include: 'vex', store: 'vex_raw' },
];
const DEFAULT_FAMILIES: readonly string[] = ['advisories', 'vex'];
const familiesOf = (profile: ExportProfile): readonly string[] => profile.spec.include ?? DEFAULT_FAMILIES;
export const indexPath = (family: string) => `indexes/${family}.index.json`;

type Mode = 'full' | 'delta';

/** One record of an index: the state after the bundle; `shard` only for the records it carries. */
export interface IndexRecord {
  id: string;
  contentHash: string;
  supersedes?: string;
  shard?: string;
}

/** Mirrors read whole chains: of the run's selectors only `sources` applies (refuse() turns away the rest). */
const chainSelectors = (selectors: Selectors): RawSelectors =>
  selectors.sources ? { sources: selectors.sources } : {};

async function select(input: AdapterInput): Promise<Selection> {
  const families = familiesOf(input.profile);
  let total = 0;
  for (const s of STORES)
    if (families.includes(s.include))
      total += await countRawForExport(input.db, input.tenant, s.store, chainSelectors(input.selectors), 'all');
  return { total, families };
}

/** The base's record ids per store, from its indexes (which describe its whole state). */
async function baseState(
  context: SerialiseContext,
): Promise<{ record: Omit<DeltaRecord, 'tombstones'>; ids: Map<string, Set<string>> }> {
  const base = await context.loadBase();
  const members = await readArchiveMembers(base.bundlePath, (name) => /^indexes\/[a-z]+\.index\.json$/.test(name));
  const ids = new Map<string, Set<string>>();
  for (const [name, bytes] of members) {
    let index: { store?: unknown; records?: unknown };
    try {
      index = JSON.parse(bytes.toString('utf8')) as typeof index;
    } catch (error) {
      throw new StellaError(
        ExportErrors.baseMissing,
        `base export ${base.exportId}: ${name} is not JSON (${(error as Error).message})`,
      );
    }
    if (typeof index.store !== 'string' || !Array.isArray(index.records)) {
      throw new StellaError(ExportErrors.baseMissing, `base export ${base.exportId}: ${name} is not a mirror index`);
    }
    ids.set(index.store, new Set((index.records as IndexRecord[]).map((r) => r.id)));
  }
  if (ids.size === 0) {
    throw new StellaError(
      ExportErrors.baseMissing,
      `base export ${base.exportId} is not a mirror bundle (no indexes/)`,
    );
  }
  return { record: { baseExportId: base.exportId, baseManifestDigest: base.manifestDigest }, ids };
}

interface StoreResult {
  files: StagedFile[];
  carried: number;
  records: number;
  tombstones: DeltaRecord['tombstones'];
}

/** One store: shards of the records this bundle carries, its index, and (for a delta) its withdrawals. */
async function serialiseStore(
  context: SerialiseContext,
  s: (typeof STORES)[number],
  writer: PayloadWriter,
  baseIds: Set<string> | undefined,
): Promise<StoreResult> {
  const shards = shardWriter(context.stagingDir, s.include);
  const index = writer.stage(indexPath(s.include));
  await index.write(`{"family":${JSON.stringify(s.include)},"records":[`);
  let records = 0;
  let carried = 0;
  const tombstones: DeltaRecord['tombstones'] = [];
  const pages = streamRawForExport(
    context.db,
    context.tenant,
    s.store,
    chainSelectors(context.selectors),
    context.pageSize,
    'all',
  );
  for await (const page of pages) {
    let entries = '';
    let materials = '';
    let carriedHere = 0;
    for (const record of page) {
      const { envelope } = record;
      records++;
      const entry: IndexRecord = { id: envelope.id, contentHash: envelope.upstream.content_hash };
      if (envelope.supersedes) entry.supersedes = envelope.supersedes;
      if (!baseIds?.has(envelope.id)) {
        // A revision that withdraws a record the base has: the importer learns of it without parsing.
        if (
          envelope.supersedes &&
          baseIds?.has(envelope.supersedes) &&
          upstreamWithdrawn(record.raw, envelope.content.format)
        )
          tombstones.push({ id: envelope.supersedes, store: s.store, supersededBy: envelope.id });
        entry.shard = shards.nextPath;
        const full = { ...envelope, content: { ...envelope.content, raw: record.raw } };
        await shards.write(`${canonicalJson(full)}\n`);
        materials += materialLine(
          envelope.id,
          `stella://${s.store}/${encodeURIComponent(envelope.id)}`,
          envelope.upstream.content_hash,
        );
        carriedHere++;
      }
      entries += `${records === 1 ? '' : ','}${canonicalJson(entry)}`;
      writer.seen(record.retrievedAt);
    }
    await index.write(entries);
    await writer.material(materials, carriedHere);
    carried += carriedHere;
    await writer.report(page.length);
  }
  await index.write(`],"store":${JSON.stringify(s.store)}}\n`);
  const files = [...(await shards.close()), await index.close(records, 'application/json')];
  return { files, carried, records, tombstones };
}

/** manifest.yaml: what is inside, for people (importers read export.json and the indexes). */
async function stageManifestYaml(
  writer: PayloadWriter,
  mode: Mode,
  files: readonly StagedFile[],
  counts: Record<string, { records: number; carried: number; tombstones: number }>,
  delta: Omit<DeltaRecord, 'tombstones'> | undefined,
): Promise<StagedFile> {
  const doc = {
    format: MIRROR_FORMAT,
    mode,
    ...(delta ? { base: { exportId: delta.baseExportId, manifestDigest: delta.baseManifestDigest } } : {}),
    counts,
    files: [...files]
      .sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)))
      .map((f) => ({ path: f.path, bytes: f.size, sha256: f.digest.replace(/^sha256:/, ''), records: f.records })),
  };
  const out = writer.stage('manifest.yaml');
  await out.write(yamlStringify(doc, { sortMapEntries: true, lineWidth: 0 }));
  return out.close(files.length, 'application/yaml');
}

function readme(mode: Mode, delta: Omit<DeltaRecord, 'tombstones'> | undefined): string {
  return [
    `# stella mirror bundle (${mode})`,
    '',
    'Raw advisories and VEX exactly as their upstreams published them, with their AOC envelopes.',
    delta
      ? `This delta applies on top of export ${delta.baseExportId} (export.json \`delta\`); import that first.`
      : 'This full bundle restores a stella on its own.',
    '',
    '1. Verify before trusting anything: `stella mirror verify <this bundle>` (signatures, TUF metadata,',
    '   every file hash, the time anchor) or `stella export verify <this bundle> --key export-center.pub`.',
    '2. Import: `stella offline import --bundle <this bundle> --trust-root export-center.pub` (full first,',
    '   then deltas in order).',
    '',
    'Layout: data/raw/<family>/<nnnn>.jsonl.zst (one envelope per line, zstd), indexes/<family>.index.json',
    '(the complete state after this bundle), manifest.yaml, export.json, provenance.json, checksums.txt,',
    'signatures/.',
    '',
  ].join('\n');
}

async function serialise(context: SerialiseContext, selection: Selection, mode: Mode): Promise<AdapterOutput> {
  const writer = payloadWriter(context, selection);
  const base = mode === 'delta' ? await baseState(context) : undefined;
  const files: StagedFile[] = [];
  const tombstones: DeltaRecord['tombstones'] = [];
  const counts: Record<string, { records: number; carried: number; tombstones: number }> = {};
  for (const s of STORES) {
    if (!selection.families.includes(s.include)) continue;
    const result = await serialiseStore(context, s, writer, base?.ids.get(s.store) ?? (base ? new Set() : undefined));
    files.push(...result.files);
    tombstones.push(...result.tombstones);
    counts[s.include] = { records: result.records, carried: result.carried, tombstones: result.tombstones.length };
  }
  const notes = writer.stage('README.md');
  await notes.write(readme(mode, base?.record));
  files.push(await notes.close(0, 'text/markdown'));
  files.push(await stageManifestYaml(writer, mode, files, counts, base?.record));
  const output = await writer.finish(files);
  // The data time export.json's generatedAt will carry (bundleSettings: whole seconds).
  const dataTime = new Date(context.fixedTime ?? new Date(output.newest ?? 0));
  dataTime.setUTCMilliseconds(0);
  const sealed = await sealMirror(
    context,
    writer,
    output,
    {
      mode,
      base: base ? { exportId: base.record.baseExportId, manifestDigest: base.record.baseManifestDigest } : undefined,
      tombstones: tombstones.length,
      counts,
      dataTime,
    },
    MIRROR_FORMAT,
  );
  const day = dataTime.toISOString().slice(0, 10).replaceAll('-', '');
  return {
    ...output,
    files: [...output.files, ...sealed],
    fileStem: `mirror-${day}-${mode}`,
    ...(base ? { delta: { ...base.record, tombstones } } : {}),
  };
}

const CUTTING_SELECTORS = ['since', 'until', 'ecosystems', 'purls'] as const;

const refuse = (kind: string) => (profile: ExportProfile, selectors: Selectors) => {
  const problems = refuseUnsupported(profile, kind, RAW_FAMILIES);
  for (const name of CUTTING_SELECTORS) {
    if (selectors[name] === undefined) continue;
    problems.push({
      pointer: `/selectors/${name}`,
      message: `${kind} carries whole revision chains, so only the sources selector applies; drop ${name}`,
    });
  }
  return problems;
};

export const mirrorFullAdapter: ExportAdapter = {
  kind: 'mirror',
  variant: 'full',
  payloadPrefix: 'data/',
  refuse: refuse('mirror:full'),
  select,
  serialise: (context, selection) => serialise(context, selection, 'full'),
};

export const mirrorDeltaAdapter: ExportAdapter = {
  kind: 'mirror',
  variant: 'delta',
  payloadPrefix: 'data/',
  needsBase: true,
  refuse: refuse('mirror:delta'),
  select,
  serialise: (context, selection) => serialise(context, selection, 'delta'),
};
