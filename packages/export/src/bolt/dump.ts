// SPDX-License-Identifier: Apache-2.0
// A canonical text dump of a bbolt file, one line per bucket and per key, so our reader and Go's bbolt
// (packages/testkit/tools/boltcheck) can be compared line for line: any difference is a format bug.
import { createHash } from 'node:crypto';
import type { BoltReader } from './reader.ts';

const pathText = (path: readonly Buffer[]) => `/${path.map((p) => p.toString('hex')).join('/')}`;

/**
 * `bucket <path>` for each bucket (path = hex names from the root joined by `/`) and
 * `value <bucket path> <key hex> <sha256 of value>` for each key, depth-first in key order.
 */
export function boltDump(reader: BoltReader): string[] {
  const lines: string[] = [];
  for (const entry of reader.walk()) {
    if (entry.bucket) lines.push(`bucket ${pathText([...entry.path, entry.key])}`);
    else {
      const digest = createHash('sha256').update(entry.value!).digest('hex');
      lines.push(`value ${pathText(entry.path)} ${entry.key.toString('hex')} ${digest}`);
    }
  }
  return lines;
}
