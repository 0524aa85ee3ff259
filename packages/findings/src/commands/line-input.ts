// SPDX-License-Identifier: Apache-2.0
// Line-oriented stdin for the versions commands: streamed with readline (100k lines never sit in
// memory as one string) and output written in chunks, waiting for 'drain' so a slow reader (less, a
// pipe into another tool) holds the producer back instead of growing a buffer without bound.
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Errors, StellaError } from '@stella/core';
import type { CliIo } from '@stella/platform';

// Large enough that 100k short results take a handful of writes, small enough to keep latency low.
const CHUNK_CHARS = 64 * 1024;

export function requireStdin(io: CliIo): NodeJS.ReadableStream {
  if (!io.stdin) throw new StellaError(Errors.usage, 'this command reads standard input, and none was given');
  return io.stdin;
}

export function lines(input: NodeJS.ReadableStream): AsyncIterable<string> {
  return createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
}

export interface ChunkedWriter {
  line(text: string): Promise<void>;
  flush(): Promise<void>;
}

export function chunkedWriter(out: NodeJS.WritableStream): ChunkedWriter {
  let buffer = '';
  const flush = async () => {
    if (buffer === '') return;
    const chunk = buffer;
    buffer = '';
    if (!out.write(chunk)) await once(out, 'drain');
  };
  return {
    async line(text) {
      buffer += `${text}\n`;
      if (buffer.length >= CHUNK_CHARS) await flush();
    },
    flush,
  };
}
