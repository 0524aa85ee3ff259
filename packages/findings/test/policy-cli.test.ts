// SPDX-License-Identifier: Apache-2.0
// `stella policy lint` driven in-process through @stella/cli's program (no server), and loadPolicyFile,
// which scan --policy and policy simulate read their policy through.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { makeProgram } from '@stella/cli';
import { StellaError } from '@stella/core';
import type { CliIo } from '@stella/platform';
import { loadPolicyFile } from '../src/commands/policy-file.ts';
import { canonicalPolicy } from '../src/policy/index.ts';

const EXAMPLE = new URL('../../../examples/node-app/policy.yaml', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'stella-policy-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

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

const HEAD = 'apiVersion: stella.policy/v1\nkind: Policy\nmetadata: { name: cli }\n';
const BROKEN = file('broken.yaml', `${HEAD}rules:\n  - id: a\n    when: { kev: maybe }\n    verdict: fial\n`);
const WARNED = file('warned.yaml', `${HEAD}rules:\n  - id: a\n    verdict: warn\n  - id: b\n    verdict: fail\n`);

describe('stella policy lint', () => {
  test('a clean policy: exit 0, nothing on stdout, the digest on stderr', async () => {
    const digest = loadPolicyFile(EXAMPLE, new Date()).digest;
    assert.deepEqual(await runCli(['policy', 'lint', EXAMPLE]), {
      code: 0,
      stdout: '',
      stderr: `${EXAMPLE}: policy "node-app" is valid (0 warnings), ${digest}\n`,
    });
  });

  test('errors: one compiler-style line each on stdout, exit 2 with ERR_POLICY_INVALID', async () => {
    assert.deepEqual(await runCli(['policy', 'lint', BROKEN]), {
      code: 2,
      stdout: [
        `${BROKEN}:6:18: error wrong-type expected true or false, found the string "maybe"`,
        `${BROKEN}:7:14: error bad-enum expected "pass" or "warn" or "fail", found the string "fial"`,
        '',
      ].join('\n'),
      stderr: `stella: ERR_POLICY_INVALID: ${BROKEN}: 2 errors, 0 warnings\n`,
    });
  });

  test('warnings only: printed, exit 0', async () => {
    const { code, stdout } = await runCli(['policy', 'lint', WARNED]);
    assert.equal(code, 0);
    assert.equal(
      stdout,
      `${WARNED}:7:5: warning unreachable-rule rule "b" can never match: rule "a" (line 5) has no when and decides every finding before it\n`,
    );
  });

  test('--json prints validity, digest and the diagnostics', async () => {
    const { code, stdout } = await runCli(['--json', 'policy', 'lint', BROKEN]);
    assert.equal(code, 2);
    const report = JSON.parse(stdout) as {
      valid: boolean;
      digest?: string;
      diagnostics: { line: number; path: string }[];
    };
    assert.equal(report.valid, false);
    assert.equal(report.digest, undefined);
    assert.deepEqual(
      report.diagnostics.map((d) => `${d.line} ${d.path}`),
      ['6 /rules/0/when/kev', '7 /rules/0/verdict'],
    );
    const clean = JSON.parse((await runCli(['--json', 'policy', 'lint', EXAMPLE])).stdout) as {
      valid: boolean;
      digest: string;
    };
    assert.equal(clean.valid, true);
    assert.match(clean.digest, /^sha256:[0-9a-f]{64}$/);
  });

  test('--at (or STELLA_POLICY_AT) lints as of another time: the example exception expires after 2099', async () => {
    const { code, stdout } = await runCli(['policy', 'lint', EXAMPLE, '--at', '2100-01-01']);
    assert.equal(code, 2);
    assert.match(stdout, /:\d+:\d+: error exception-expired exception "EXC-2026-001" expired on 2099-12-31/);
    assert.equal((await runCli(['policy', 'lint', EXAMPLE], { STELLA_POLICY_AT: '2100-01-01' })).code, 2);
    const bad = await runCli(['policy', 'lint', EXAMPLE, '--at', 'tomorrow']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^stella: ERR_USAGE: --at must be an ISO 8601 date/);
  });

  test('an unreadable file exits 4 with ERR_FILE_NOT_FOUND', async () => {
    const { code, stderr } = await runCli(['policy', 'lint', join(dir, 'missing.yaml')]);
    assert.equal(code, 4);
    assert.match(stderr, /^stella: ERR_FILE_NOT_FOUND: .*missing\.yaml: ENOENT/);
  });
});

describe('loadPolicyFile', () => {
  test('returns the policy, its text and sha256 of its canonical JSON', () => {
    const loaded = loadPolicyFile(EXAMPLE, new Date('2026-12-03T00:00:00Z'));
    assert.equal(loaded.text, readFileSync(EXAMPLE, 'utf8'));
    const hex = createHash('sha256').update(canonicalPolicy(loaded.policy)).digest('hex');
    assert.equal(loaded.digest, `sha256:${hex}`);
  });

  test('an invalid policy throws ERR_POLICY_INVALID (exit 2) naming the errors with line:column', () => {
    assert.throws(
      () => loadPolicyFile(BROKEN, new Date()),
      (error: unknown) => {
        assert.ok(error instanceof StellaError);
        assert.equal(error.code, 'ERR_POLICY_INVALID');
        assert.equal(error.exit, 2);
        assert.equal(error.status, 422);
        assert.equal(
          error.message,
          `${BROKEN} is not a valid policy (2 errors): 6:18 wrong-type expected true or false, found the string "maybe"; 7:14 bad-enum expected "pass" or "warn" or "fail", found the string "fial"`,
        );
        assert.equal((error.details?.diagnostics as unknown[] | undefined)?.length, 2);
        return true;
      },
    );
  });
});
