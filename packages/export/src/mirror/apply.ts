// SPDX-License-Identifier: Apache-2.0
// Writes the records of a verified mirror bundle into this stella's raw stores, through the AOC room's
// import door, inside the caller's transaction. Shards are read as a stream (zstd, one envelope per
// line) and written in batches. A batch only ends between chains: shards are in record-id order, and
// the ids of one chain share their `<store>:<vendor>:<upstream id>:` prefix, so a chain is one run of
// lines; its revisions go into one INSERT in revision order (the chain constraint wants each
// revision's predecessor stored by the end of the statement that writes it).
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createZstdDecompress } from 'node:zlib';
import { type AocEnvelope, importRawRecords, type RawStore, type ReplicaRecord, type ReplicaResult } from '@stella/aoc';
import { StellaError } from '@stella/core';
import type { Queryable } from '@stella/platform';
import { ExportErrors } from '../errors.ts';

const BATCH = 500;
const STORES: ReadonlySet<string> = new Set(['advisory_raw', 'vex_raw']);

export interface MirrorFamily {
  family: string;
  store: RawStore;
}

function invalid(message: string): StellaError {
  return new StellaError(ExportErrors.verify, message);
}

/** The families a bundle holds, from its indexes (each names its raw store). */
export async function mirrorFamilies(dir: string): Promise<MirrorFamily[]> {
  const names = (await readdir(join(dir, 'indexes')).catch(() => [])).filter((n) => n.endsWith('.index.json')).sort();
  const families: MirrorFamily[] = [];
  for (const name of names) {
    let index: { family?: unknown; store?: unknown };
    try {
      index = JSON.parse(await readFile(join(dir, 'indexes', name), 'utf8')) as typeof index;
    } catch (error) {
      throw invalid(`indexes/${name} is not JSON: ${(error as Error).message}`);
    }
    if (typeof index.family !== 'string' || !/^[a-z]+$/.test(index.family) || !STORES.has(String(index.store))) {
      throw invalid(`indexes/${name} does not name a family and a raw store`);
    }
    families.push({ family: index.family, store: index.store as RawStore });
  }
  if (families.length === 0) throw invalid('the bundle has no indexes/: it is not a mirror bundle');
  return families;
}

/** Every line of every shard of a family, in shard order, as import records. */
async function* shardRecords(dir: string, family: string): AsyncGenerator<ReplicaRecord> {
  const shardDir = join(dir, 'data', 'raw', family);
  const shards = (await readdir(shardDir).catch(() => [])).filter((n) => n.endsWith('.jsonl.zst')).sort();
  for (const shard of shards) {
    const lines = createInterface({
      input: createReadStream(join(shardDir, shard)).pipe(createZstdDecompress()),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    let n = 0;
    for await (const line of lines) {
      n++;
      let envelope: AocEnvelope;
      try {
        envelope = JSON.parse(line) as AocEnvelope;
      } catch (error) {
        throw invalid(`data/raw/${family}/${shard} line ${n} is not JSON: ${(error as Error).message}`);
      }
      const raw = (envelope as { content?: { raw?: unknown } })?.content?.raw;
      if (typeof raw !== 'string') throw invalid(`data/raw/${family}/${shard} line ${n} has no content.raw text`);
      yield { envelope, raw };
    }
  }
}

const chainOf = (id: string) => id.slice(0, id.lastIndexOf(':'));
const revisionOf = (id: string) => Number(id.slice(id.lastIndexOf(':') + 1));

/** Writes one family's records; `onRecords` is told how many were handled after each batch. */
export async function applyFamily(
  tx: Queryable,
  tenant: string,
  dir: string,
  family: MirrorFamily,
  onRecords: (n: number) => void,
): Promise<ReplicaResult> {
  const total: ReplicaResult = { inserted: 0, present: 0 };
  let batch: ReplicaRecord[] = [];
  let chain: ReplicaRecord[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const result = await importRawRecords(tx, tenant, family.store, batch);
    total.inserted += result.inserted;
    total.present += result.present;
    onRecords(batch.length);
    batch = [];
  };
  const endChain = async () => {
    chain.sort((a, b) => revisionOf(a.envelope.id) - revisionOf(b.envelope.id));
    batch.push(...chain);
    chain = [];
    if (batch.length >= BATCH) await flush();
  };
  for await (const record of shardRecords(dir, family.family)) {
    const id = String(record.envelope.id);
    if (chain.length > 0 && chainOf(String(chain[0]!.envelope.id)) !== chainOf(id)) await endChain();
    chain.push(record);
  }
  await endChain();
  await flush();
  return total;
}
