// SPDX-License-Identifier: Apache-2.0
// Run in its own process by bundle-writer.test.ts, so the test runner's own allocations do not blur
// the figure: stages a file of argv[2] MiB, streams it through writeBundle (zstd) into a sink that
// discards, and prints the peak RSS growth during the write as JSON.
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { writeBundle } from '../../src/bundle/index.ts';

const MiB = 1024 * 1024;
const mebibytes = Number(process.argv[2]);
const staged = join(process.argv[3]!, 'advisories.jsonl');

// Pseudo-random words, so the compressor does real work on every block.
const block = Buffer.alloc(MiB);
for (let i = 0; i < MiB; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i);
const fd = openSync(staged, 'w');
for (let i = 0; i < mebibytes; i++) {
  block.writeUInt32LE(i, 0);
  writeSync(fd, block);
}
closeSync(fd);

const before = process.memoryUsage().rss;
let peak = before;
const sample = () => {
  peak = Math.max(peak, process.memoryUsage().rss);
};
const sampler = setInterval(sample, 20);
const discard = new Writable({
  write(_chunk, _encoding, callback) {
    sample();
    callback();
  },
});
const result = await writeBundle(
  [{ path: 'data/raw/advisories.jsonl', size: mebibytes * MiB, source: staged }],
  { mtime: new Date(0), compression: { codec: 'zstd' } },
  discard,
);
clearInterval(sampler);
rmSync(staged);
process.stdout.write(`${JSON.stringify({ growth: peak - before, tarBytes: result.tarBytes, bytes: result.bytes })}\n`);
