// SPDX-License-Identifier: Apache-2.0
// `stella versions …` driven in-process through @stella/cli's program, stdin included.
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { makeProgram } from '@stella/cli';
import type { CliIo } from '@stella/platform';

/** A real Writable, so the command's chunked writer meets backpressure ('drain') as with a pipe. */
function capture(): { stream: NodeJS.WritableStream; text(): string } {
  let out = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      out += chunk.toString();
      done();
    },
  });
  return { stream, text: () => out };
}

async function runCli(args: string[], input?: string, env: Record<string, string> = {}) {
  const out = capture();
  const err = capture();
  const io: CliIo = {
    argv: args,
    env: { STELLA_SERVER: 'http://127.0.0.1:9', ...env },
    stdout: out.stream,
    stderr: err.stream,
    ...(input === undefined ? {} : { stdin: Readable.from([input]) }),
  };
  const code = await makeProgram(io).run();
  return { code, stdout: out.text(), stderr: err.text() };
}

describe('stella versions compare', () => {
  test('prints <, = or > and exits 0', async () => {
    assert.deepEqual(await runCli(['versions', 'compare', '--ecosystem', 'npm', '1.2.3', '1.10.0']), {
      code: 0,
      stdout: '<\n',
      stderr: '',
    });
    assert.equal((await runCli(['versions', 'compare', '--ecosystem', 'Debian:12', '1:1.0', '2.0'])).stdout, '>\n');
    assert.equal((await runCli(['versions', 'compare', '--ecosystem', 'maven', '1.0', '1-ga'])).stdout, '=\n');
  });

  test('--ecosystem falls back to STELLA_ECOSYSTEM; --json prints the result object', async () => {
    const { code, stdout } = await runCli(['--json', 'versions', 'compare', '2.0', '1.0'], undefined, {
      STELLA_ECOSYSTEM: 'PyPI',
    });
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(stdout), { ecosystem: 'PyPI', a: '2.0', b: '1.0', result: '>', order: 1 });
  });

  test('an unparseable version exits 2 with the coded reason on stderr', async () => {
    const { code, stdout, stderr } = await runCli(['versions', 'compare', '--ecosystem', 'npm', '1.2', '1.3.0']);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(
      stderr,
      /^stella: ERR_VERSION_UNPARSEABLE: npm version "1\.2" cannot be parsed: .*MAJOR\.MINOR\.PATCH/,
    );
  });

  test('an unknown ecosystem exits 2 and lists the known ones; a missing --ecosystem is a usage error', async () => {
    const unknown = await runCli(['versions', 'compare', '--ecosystem', 'Gentoo', '1', '2']);
    assert.equal(unknown.code, 2);
    assert.match(
      unknown.stderr,
      /^stella: ERR_VERSION_ECOSYSTEM_UNKNOWN: unknown ecosystem "Gentoo"; supported: npm, crates\.io, PyPI/,
    );
    const missing = await runCli(['versions', 'compare', '1', '2']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /ERR_USAGE: --ecosystem is required/);
  });
});

describe('stella versions compare --stdin', () => {
  test('--stdin: one result per line in order; a bad line prints ! in its place, is named on stderr, and exits 2', async () => {
    const input = '1.0 2.0\n1.0~rc1 1.0\nonly-one\n2:1 1:9\n0:abc 1\r\n3.0\t3.0\n';
    const { code, stdout, stderr } = await runCli(['versions', 'compare', '--ecosystem', 'Debian', '--stdin'], input);
    assert.equal(code, 2);
    assert.equal(stdout, '<\n<\n!\n>\n!\n=\n');
    assert.match(stderr, /^stella: ERR_USAGE: line 3: expected two whitespace-separated versions, found 1$/m);
    assert.match(stderr, /^stella: ERR_VERSION_UNPARSEABLE: line 5: Debian version "0:abc" cannot be parsed/m);
    assert.match(stderr, /^stella: ERR_USAGE: 2 of 6 lines could not be compared$/m);
  });

  test('--stdin with --json prints one object per line', async () => {
    const { code, stdout } = await runCli(
      ['--json', 'versions', 'compare', '--ecosystem', 'Go', '--stdin'],
      'v1.2.3 v1.2.4-0.20191109021931-daa7c04131f5\n',
    );
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(stdout), {
      line: 1,
      a: 'v1.2.3',
      b: 'v1.2.4-0.20191109021931-daa7c04131f5',
      result: '<',
      order: -1,
    });
  });

  test('--stdin streams 20k pairs', async () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => `1.${i}.0 1.${i % 7}.0`);
    const { code, stdout } = await runCli(
      ['versions', 'compare', '--ecosystem', 'npm', '--stdin'],
      `${lines.join('\n')}\n`,
    );
    assert.equal(code, 0);
    const results = stdout.trimEnd().split('\n');
    assert.equal(results.length, 20_000);
    assert.equal(results[7], '>');
    assert.equal(results[3], '=');
  });

  test('no stdin given to an in-process caller: a usage error, not a hang', async () => {
    const { code, stderr } = await runCli(['versions', 'compare', '--ecosystem', 'npm', '--stdin']);
    assert.equal(code, 2);
    assert.match(stderr, /reads standard input, and none was given/);
  });
});

describe('stella versions sort and ecosystems', () => {
  test('sort: ascending, --reverse, blank lines skipped', async () => {
    const input = '1.10\n\n1.2\n1.2~rc1\n1:0.1\n';
    assert.equal(
      (await runCli(['versions', 'sort', '--ecosystem', 'Ubuntu'], input)).stdout,
      '1.2~rc1\n1.2\n1.10\n1:0.1\n',
    );
    assert.equal(
      (await runCli(['versions', 'sort', '--ecosystem', 'Ubuntu', '--reverse'], input)).stdout,
      '1:0.1\n1.10\n1.2\n1.2~rc1\n',
    );
  });

  test('sort refuses the whole input when one line is not a version, naming the line', async () => {
    const { code, stdout, stderr } = await runCli(['versions', 'sort', '--ecosystem', 'npm'], '1.0.0\nnope\n0.1.0\n');
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /^stella: ERR_VERSION_UNPARSEABLE: line 2: npm version "nope"/m);
    assert.match(stderr, /1 of 3 lines are not versions of this ecosystem; nothing was sorted/);
  });

  test('ecosystems lists names, aliases and rules; --json for machines', async () => {
    const human = await runCli(['versions', 'ecosystems']);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /^crates\.io, cargo$/m);
    assert.match(human.stdout, /^Debian, deb \(also Debian:<release>\)$/m);
    const json = await runCli(['--json', 'versions', 'ecosystems']);
    const list: unknown = JSON.parse(json.stdout);
    assert.ok(Array.isArray(list));
    assert.ok(
      list.some((e: unknown) =>
        JSON.stringify(e).includes('"name":"Wolfi","aliases":[],"releaseSuffix":false,"scheme":"apk"'),
      ),
    );
  });
});
