// SPDX-License-Identifier: Apache-2.0
// `stella export verify` driven in-process through @stella/cli's program: exit 0
// for a valid bundle, 3 naming the failing file otherwise; JSON with --format json; no server.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { makeProgram } from '@stella/cli';
import type { CliIo } from '@stella/platform';
import { scratchDir } from '@stella/testkit';
import type { VerifyReport } from '../src/bundle/index.ts';
import { bundleFiles, testSigner, writeArchive, writeDir } from './bundle-fixtures/kit.ts';

function capture(): { stream: NodeJS.WritableStream; text(): string } {
  let out = '';
  return {
    stream: {
      write: (s: string) => {
        out += s;
        return true;
      },
    } as unknown as NodeJS.WritableStream,
    text: () => out,
  };
}

/** The real `stella` program, in-process; `export verify` never contacts the (unroutable) server. */
async function runCli(args: string[], env: Record<string, string> = {}) {
  const out = capture();
  const err = capture();
  const io: CliIo = {
    argv: args,
    env: { STELLA_SERVER: 'http://127.0.0.1:9', ...env },
    stdout: out.stream,
    stderr: err.stream,
  };
  const code = await makeProgram(io).run();
  return { code, stdout: out.text(), stderr: err.text() };
}

const lastLine = (text: string) => text.trim().split('\n').at(-1) ?? '';

describe('stella export verify', () => {
  const signer = testSigner();
  const other = testSigner();

  test('a valid .tar.zst: exit 0, one line per check, a closing summary, a trust note on stderr', async () => {
    const path = await writeArchive(bundleFiles(signer), 'zstd');
    const { code, stdout, stderr } = await runCli(['export', 'verify', path]);
    assert.equal(code, 0, stderr);
    const lines = stdout.trim().split('\n');
    assert.ok(lines.length > 10);
    for (const line of lines.slice(0, -1)) assert.match(line, /^ok {4}\S+ {2}/);
    assert.equal(lines.at(-1), `bundle verified: export exp-test-0001, key ${signer.keyid} (bundled)`);
    assert.match(stderr, /trusted the key shipped inside the bundle/);
  });

  test('--key with the publisher key and --format json: exit 0 and the report on stdout', async () => {
    const keyFile = join(scratchDir(), 'pub.pem');
    writeFileSync(keyFile, signer.publicKeyPem);
    const dir = writeDir(bundleFiles(signer));
    const { code, stdout } = await runCli(['export', 'verify', dir, '--key', keyFile, '--format', 'json']);
    assert.equal(code, 0);
    const report = JSON.parse(stdout) as VerifyReport;
    assert.equal(report.ok, true);
    assert.equal(report.trustedKey, 'given');
    assert.equal(report.keyid, signer.keyid);
  });

  test('a swapped export.sig: exit 3, the FAIL line and the last stderr line name the file', async () => {
    const dir = writeDir(bundleFiles(signer));
    const exportJson = readFileSync(join(dir, 'export.json'));
    writeFileSync(join(dir, 'signatures/export.sig'), other.signBytes(exportJson).toString('base64'));
    const { code, stdout, stderr } = await runCli(['export', 'verify', dir]);
    assert.equal(code, 3);
    assert.match(stdout, /^FAIL {2}signatures\/export\.sig {2}signature over export\.json: /m);
    assert.equal(
      lastLine(stderr),
      `stella: ERR_EXPORT_009: verification failed: signatures/export.sig: signature does not verify with key ${signer.keyid}`,
    );
  });

  test('a flipped data byte: exit 3 naming the data file; --json keeps the report machine-readable', async () => {
    const dir = writeDir(bundleFiles(signer));
    const path = join(dir, 'data/raw/advisories.jsonl');
    const bytes = readFileSync(path);
    bytes[3] = bytes[3]! ^ 0x20;
    writeFileSync(path, bytes);
    const { code, stdout, stderr } = await runCli(['--json', 'export', 'verify', dir]);
    assert.equal(code, 3);
    assert.equal((JSON.parse(stdout) as VerifyReport).ok, false);
    assert.match(
      lastLine(stderr),
      /^stella: ERR_EXPORT_009: verification failed: data\/raw\/advisories\.jsonl: sha256 is /,
    );
  });

  test('--key with a different key (also from STELLA_EXPORT_VERIFY_KEY): exit 3', async () => {
    const keyFile = join(scratchDir(), 'other.pem');
    writeFileSync(keyFile, other.publicKeyPem);
    const path = await writeArchive(bundleFiles(signer), 'gzip');
    const flag = await runCli(['export', 'verify', path, '--key', keyFile]);
    assert.equal(flag.code, 3);
    assert.match(
      lastLine(flag.stderr),
      /verification failed: signatures\/export\.dsse\.json: does not verify with key/,
    );
    assert.match(flag.stdout, /^note {2}signatures\/export-center\.pub .*differs from the given key/m);
    const env = await runCli(['export', 'verify', path], { STELLA_EXPORT_VERIFY_KEY: keyFile });
    assert.equal(env.code, 3);
  });

  test('a hostile archive is refused with exit 3; a missing path exits 4; an unknown format is a usage error', async () => {
    const path = join(scratchDir(), 'evil.tar');
    const header = Buffer.alloc(512);
    header.write('../evil', 0);
    header.write('0000644\0', 100);
    header.write('00000000000\0', 124);
    header.write('00000000000\0', 136);
    header.write('0', 156);
    header.write('ustar\u000000', 257);
    header.write('        ', 148);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    writeFileSync(path, Buffer.concat([header, Buffer.alloc(1024)]));
    const hostile = await runCli(['export', 'verify', path]);
    assert.equal(hostile.code, 3);
    assert.match(lastLine(hostile.stderr), /ERR_EXPORT_009: \.\.\/evil: refused/);
    assert.equal((await runCli(['export', 'verify', join(scratchDir(), 'nope.tar.zst')])).code, 4);
    assert.equal((await runCli(['export', 'verify', path, '--format', 'yaml'])).code, 2);
  });
});
