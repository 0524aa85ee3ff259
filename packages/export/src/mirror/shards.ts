// SPDX-License-Identifier: Apache-2.0
// The data files of a mirror bundle (spec §2.5): each raw family as zstd-compressed JSONL shards,
// `data/raw/<family>/<nnnn>.jsonl.zst`, a fixed number of records per shard in record-id order, so the
// same heads give the same shards (a zstd frame at a fixed level with a checksum is deterministic).
// Each line is the AOC envelope with `content.raw` holding the upstream document exactly as received,
// the same line json:raw writes, so sha256(content.raw) equals upstream.content_hash on the far side.
// Shards are compressed and hashed as they are written: memory holds one page of lines at a time.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createZstdCompress, constants as zlibConstants } from 'node:zlib';
import type { StagedFile } from '../adapters/adapter.ts';

/** Records per shard: ~10 MB of JSONL, a few hundred KiB to a few MB compressed. */
export const SHARD_RECORDS = 10_000;
export const SHARD_CONTENT_TYPE = 'application/x-ndjson+zstd';
const ZSTD_LEVEL = 3;

export const shardPath = (family: string, index: number) =>
  `data/raw/${family}/${String(index).padStart(4, '0')}.jsonl.zst`;

interface OpenShard {
  path: string;
  file: string;
  input: PassThrough;
  done: Promise<void>;
  hash: ReturnType<typeof createHash>;
  size: number;
  records: number;
}

/** Writes lines into consecutive shards of one family; close() returns every shard as a staged file. */
export function shardWriter(stagingDir: string, family: string) {
  const shards: StagedFile[] = [];
  let current: OpenShard | undefined;

  const open = (): OpenShard => {
    const path = shardPath(family, shards.length);
    const file = join(stagingDir, path.replaceAll('/', '_'));
    const input = new PassThrough({ highWaterMark: 1 << 20 });
    const shard: OpenShard = {
      path,
      file,
      input,
      hash: createHash('sha256'),
      size: 0,
      records: 0,
      done: Promise.resolve(),
    };
    const zstd = createZstdCompress({
      params: { [zlibConstants.ZSTD_c_compressionLevel]: ZSTD_LEVEL, [zlibConstants.ZSTD_c_checksumFlag]: 1 },
    });
    zstd.on('data', (chunk: Buffer) => {
      shard.hash.update(chunk);
      shard.size += chunk.length;
    });
    shard.done = pipeline(input, zstd, createWriteStream(file));
    return shard;
  };

  const finish = async (shard: OpenShard) => {
    shard.input.end();
    await shard.done;
    shards.push({
      path: shard.path,
      file: shard.file,
      size: shard.size,
      digest: `sha256:${shard.hash.digest('hex')}`,
      records: shard.records,
      contentType: SHARD_CONTENT_TYPE,
    });
  };

  return {
    /** The shard the next line goes to (for indexes), opening it when needed. */
    get nextPath(): string {
      return current && current.records < SHARD_RECORDS
        ? current.path
        : shardPath(family, shards.length + (current ? 1 : 0));
    },
    async write(line: string): Promise<void> {
      if (current && current.records >= SHARD_RECORDS) {
        await finish(current);
        current = undefined;
      }
      current ??= open();
      current.records++;
      if (!current.input.write(line)) await once(current.input, 'drain');
    },
    async close(): Promise<StagedFile[]> {
      if (current) await finish(current);
      current = undefined;
      return shards;
    },
  };
}
