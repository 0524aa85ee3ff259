// The runtime upload stream under hostile input, below HTTP: every cap refuses while reading (without
// pulling the rest of the upload), every failure removes the spool, a spool disposed mid-write raises
// nothing, and a restart sweeps what a dead process left. An unhandled stream 'error' would end this
// test process, so a pass also means none was raised.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { StellaError } from '@stella/core';
import { loadConfig } from '@stella/platform';
import { scratchDir } from '@stella/testkit';
import { signalsConfig } from '../src/config.ts';
import { SPOOL_MEMORY_BYTES, Spool, sweepSpool } from '../src/runtime/spool.ts';
import { readRuntimeStream, runtimeSpoolDir, runtimeStreamLimits, type StreamLimits } from '../src/runtime/stream.ts';

const MiB = 1024 * 1024;
const event = (symbolId: string) => `${JSON.stringify({ symbolId, hitCount: 1 })}\n`;

function setup(overrides: Partial<StreamLimits> = {}) {
  const home = scratchDir('stella-signals-stream-');
  const { config } = loadConfig({ sections: [signalsConfig], env: { STELLA_HOME: home } });
  const spoolDir = runtimeSpoolDir(config);
  const limits = { ...runtimeStreamLimits(config, new Date('2026-01-02T03:04:05.000Z')), ...overrides };
  const leftovers = () => (existsSync(spoolDir) ? readdirSync(spoolDir) : []);
  return { spoolDir, limits, leftovers, config };
}

/** Yields `chunks` and counts how many were pulled, so a test can tell the reader stopped early. */
function counting(chunks: Iterable<Buffer>): { source: AsyncIterable<Buffer>; pulled(): number } {
  let pulled = 0;
  return {
    source: (async function* () {
      for (const chunk of chunks) {
        pulled++;
        yield chunk;
      }
    })(),
    pulled: () => pulled,
  };
}

function* repeat(chunk: Buffer, times: number): Generator<Buffer> {
  for (let i = 0; i < times; i++) yield chunk;
}

const code = (expected: string, status: number, message?: RegExp) => (e: StellaError) => {
  assert.equal(e.code, expected, e.message);
  assert.equal(e.status, status);
  if (message) assert.match(e.message, message);
  return true;
};

describe('runtime upload stream', () => {
  test('5 MiB of newlines is refused at signals.maxLines after about 1 MiB, and the rest is not read', async () => {
    const { spoolDir, limits, leftovers } = setup();
    const upload = counting(repeat(Buffer.alloc(64 * 1024, 0x0a), 80));
    await assert.rejects(
      readRuntimeStream(upload.source, { gzip: false, limits, spoolDir }),
      code('ERR_BODY_TOO_LARGE', 413, /more than 1000000 lines \(signals\.maxLines\)/),
    );
    assert.ok(upload.pulled() <= 17, `read ${upload.pulled()} of 80 chunks`);
    assert.deepEqual(leftovers(), []);
  });

  test('with maxLines raised, 5 MiB of newlines spills to the spool file, is refused as empty, and the spool is removed', async () => {
    // The probe's crash: the spool had spilled to a file when the batch was refused, and disposing
    // it destroyed the file stream with a write in flight (an unhandled ERR_STREAM_DESTROYED).
    // Chunks of 4 KiB, as a socket delivers them, leave writes in flight at the end.
    const { spoolDir, limits, leftovers } = setup({ maxLines: 100_000_000 });
    for (let round = 0; round < 3; round++) {
      await assert.rejects(
        readRuntimeStream(counting(repeat(Buffer.alloc(4 * 1024, 0x0a), 1280)).source, {
          gzip: false,
          limits,
          spoolDir,
        }),
        code('ERR_SIGNALS_RUNTIME_INVALID', 400, /^runtime fact stream was empty$/),
      );
    }
    assert.deepEqual(leftovers(), []);
  });

  test('a valid batch larger than the in-memory spool is read back whole, and dispose removes its file', async () => {
    const { spoolDir, limits, leftovers } = setup();
    const line = Buffer.from(event('lib:f'));
    const count = Math.ceil((SPOOL_MEMORY_BYTES + MiB) / line.length);
    const lines = Buffer.concat([...repeat(line, count)]);
    const chunks = Array.from({ length: Math.ceil(lines.length / 65536) }, (_, i) =>
      lines.subarray(i * 65536, (i + 1) * 65536),
    );
    const batch = await readRuntimeStream(counting(chunks).source, { gzip: false, limits, spoolDir });
    assert.equal(batch.aggregate.events, count);
    assert.equal(leftovers().length, 1, 'spilled to one spool directory');
    const body = batch.body();
    assert.ok(!Buffer.isBuffer(body));
    let size = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) size += chunk.length;
    assert.equal(size, line.length * count);
    await batch.dispose();
    await batch.dispose();
    assert.deepEqual(leftovers(), []);
  });

  test('a gzip bomb is refused at the line count or the decompression cap without inflating the rest', async () => {
    const { spoolDir, limits, leftovers } = setup({ maxDecompressedBytes: 8 * MiB });
    const newlines = gzipSync(Buffer.alloc(64 * MiB, 0x0a));
    await assert.rejects(
      readRuntimeStream(counting([newlines]).source, { gzip: true, limits, spoolDir }),
      code('ERR_BODY_TOO_LARGE', 413, /signals\.maxLines/),
    );
    const blank = Buffer.concat([Buffer.alloc(4000, 0x20), Buffer.from('\n')]);
    const spaces = gzipSync(Buffer.concat([...repeat(blank, Math.ceil((64 * MiB) / blank.length))]));
    await assert.rejects(
      readRuntimeStream(counting([spaces]).source, { gzip: false, limits, spoolDir }),
      code('ERR_BODY_TOO_LARGE', 413, /decompresses to more than 8388608 bytes \(signals\.maxDecompressedBytes\)/),
    );
    assert.deepEqual(leftovers(), []);
  });

  test('the smaller of signals.maxDecompressedBytes and limits.decompressedBytes applies, and is named', () => {
    const home = scratchDir('stella-signals-stream-');
    const { config } = loadConfig({
      sections: [signalsConfig],
      env: { STELLA_HOME: home, STELLA_LIMITS_DECOMPRESSED_BYTES: String(2 * MiB) },
    });
    const limits = runtimeStreamLimits(config, new Date());
    assert.equal(limits.maxDecompressedBytes, 2 * MiB);
    assert.equal(limits.decompressedKey, 'limits.decompressedBytes');
  });

  test('a truncated gzip stream is ERR_MALFORMED_BODY and leaves no spool', async () => {
    const { spoolDir, limits, leftovers } = setup();
    const lines = Buffer.from(Array.from({ length: 300_000 }, (_, i) => event(`lib:f${i}`)).join(''));
    assert.ok(lines.length > SPOOL_MEMORY_BYTES, 'spills before the end');
    const zipped = gzipSync(lines, { level: 1 });
    const truncated = zipped.subarray(0, zipped.length - 1000);
    await assert.rejects(
      readRuntimeStream(counting([truncated]).source, { gzip: true, limits, spoolDir }),
      code('ERR_MALFORMED_BODY', 400, /gzip body could not be decompressed/),
    );
    await assert.rejects(
      readRuntimeStream(counting([Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad])]).source, {
        gzip: false,
        limits,
        spoolDir,
      }),
      code('ERR_MALFORMED_BODY', 400),
    );
    assert.deepEqual(leftovers(), []);
  });

  test('an upload that fails mid-way (the client hung up) is ERR_MALFORMED_BODY, plain or gzip, and leaves no spool', async () => {
    const { spoolDir, limits, leftovers } = setup();
    const line = Buffer.from(event('lib:f'));
    const body = Buffer.concat([...repeat(line, Math.ceil((6 * MiB) / line.length))]);
    for (const gzip of [false, true]) {
      const bytes = gzip ? gzipSync(body, { level: 1 }) : body;
      const aborted = (async function* () {
        for (let offset = 0; offset < bytes.length / 2; offset += 64 * 1024)
          yield bytes.subarray(offset, offset + 64 * 1024);
        throw Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
      })();
      await assert.rejects(
        readRuntimeStream(aborted, { gzip, limits, spoolDir }),
        code('ERR_MALFORMED_BODY', 400, /the upload ended before it was complete \(aborted\)/),
      );
    }
    assert.deepEqual(leftovers(), []);
  });

  test('each line is checked against the JSON caps before it is parsed: NUL, lone surrogates, depth', async () => {
    const { spoolDir, limits, leftovers } = setup();
    const cases: [string, string][] = [
      [`${event('a')}{"symbolId":"a\\u0000b","hitCount":1}\n`, 'ERR_INVALID_TEXT'],
      [`{"symbolId":"a\\ud800","hitCount":1}\n`, 'ERR_INVALID_TEXT'],
      [`{"symbolId":"a","hitCount":1,"metadata":${'['.repeat(4500)}${']'.repeat(4500)}}\n`, 'ERR_LIMIT_JSON_DEPTH'],
    ];
    for (const [text, expected] of cases) {
      await assert.rejects(
        readRuntimeStream(counting([Buffer.from(text)]).source, {
          gzip: false,
          limits: { ...limits, maxLineBytes: MiB },
          spoolDir,
        }),
        (e: StellaError) => e.code === expected && e.status === 400 && /^line \d+: /.test(e.message),
      );
    }
    // A raw NUL inside a string is not JSON at all; a symbol id holding one after parsing is refused too.
    await assert.rejects(
      readRuntimeStream(counting([Buffer.from('{"symbolId":"a\u0000b","hitCount":1}\n')]).source, {
        gzip: false,
        limits,
        spoolDir,
      }),
      code('ERR_SIGNALS_RUNTIME_INVALID', 400, /line 1 is not valid JSON/),
    );
    assert.deepEqual(leftovers(), []);
  });
});

describe('runtime upload lines', () => {
  test('a byte order mark before the first line and CRLF line ends are accepted; a mark elsewhere is not JSON', async () => {
    const { spoolDir, limits } = setup();
    const ok = await readRuntimeStream(
      counting([Buffer.from(`\uFEFF${event('a').trimEnd()}\r\n  \r\n${event('b').trimEnd()}\r\n`)]).source,
      { gzip: false, limits, spoolDir },
    );
    assert.equal(ok.aggregate.events, 2);
    await ok.dispose();
    await assert.rejects(
      readRuntimeStream(counting([Buffer.from(`${event('a')}\uFEFF${event('b')}`)]).source, {
        gzip: false,
        limits,
        spoolDir,
      }),
      code('ERR_SIGNALS_RUNTIME_INVALID', 400, /^line 2 is not valid JSON/),
    );
  });
});

describe('runtime spool', () => {
  test('dispose() during a write waits for it, raises nothing and removes the file; later writes are refused', async () => {
    const root = join(scratchDir('stella-signals-spool-'), 'spool');
    const spool = new Spool(root);
    await spool.write(Buffer.alloc(SPOOL_MEMORY_BYTES, 0x20));
    const writing = spool.write(Buffer.alloc(8 * MiB, 0x20));
    const disposing = spool.dispose();
    await writing;
    await disposing;
    assert.deepEqual(readdirSync(root), []);
    await assert.rejects(spool.write(Buffer.from('x')), /disposed/);
  });

  test('sweepSpool removes directories of dead processes of this host only', async () => {
    const root = join(scratchDir('stella-signals-sweep-'), 'spool');
    mkdirSync(root, { recursive: true });
    const host = hostname().replace(/[^A-Za-z0-9-]/g, '_') || 'host';
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const names = {
      dead: `${host}.${dead}.0badc0de.AbCdEf`,
      samePidOtherNonce: `${host}.${process.pid}.0badc0de.AbCdEf`,
      live: `${host}.${process.ppid}.0badc0de.AbCdEf`,
      otherHost: `other-host.${dead}.0badc0de.AbCdEf`,
      unrelated: 'notes',
    };
    for (const name of Object.values(names)) mkdirSync(join(root, name));
    // And one of this process, made by a spool.
    const spool = new Spool(root);
    await spool.write(Buffer.alloc(SPOOL_MEMORY_BYTES + 1, 0x20));
    assert.equal(await sweepSpool(root), 2);
    const left = readdirSync(root).sort();
    assert.deepEqual(left.filter((n) => !n.includes('0badc0de') && n !== 'notes').length, 1, 'the live spool stays');
    assert.ok(!left.includes(names.dead) && !left.includes(names.samePidOtherNonce));
    assert.ok(left.includes(names.live) && left.includes(names.otherHost) && left.includes(names.unrelated));
    await spool.dispose();
    assert.equal(await sweepSpool(join(root, 'missing')), 0);
  });
});
