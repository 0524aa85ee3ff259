// SPDX-License-Identifier: Apache-2.0
// The project's Go checkers (packages/testkit/tools/<name>), built once per test process in GOPATH mode against
// Debian's Go toolchain and bbolt source (no module downloads), and run with a timeout so a hung
// checker fails a test instead of stalling it. A missing toolchain fails naming the apt packages.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { installLine, locateExecutable, PREREQUISITES } from './prerequisites.ts';
import { scratchDir } from './scratch.ts';

export type GoToolName = 'boltcheck' | 'trivycheck';

export interface GoToolResult {
  stdout: string;
  stderr: string;
  /** The exit code: 0 success, 1 a problem found, 2 a usage error. */
  code: number;
}

const TOOLS_DIR = join(import.meta.dirname, '..', 'tools');
const BBOLT_SOURCE = PREREQUISITES.find((p) => p.command === 'go.etcd.io/bbolt')!.path!;
/** Go's check of a 100 MB database takes a few seconds; a hung checker fails instead of stalling. */
const GO_TIMEOUT_MS = 60_000;

let buildDir: string | undefined;
const built = new Map<GoToolName, string>();

/** The path of the built checker `name`, building it on first use; throws naming the apt packages. */
export function goTool(name: GoToolName): string {
  const cached = built.get(name);
  if (cached) return cached;
  const go = locateExecutable('go');
  if (!go || !existsSync(BBOLT_SOURCE)) {
    throw new Error(
      `Go's bbolt is needed to check exported databases independently: ${installLine(['go', 'go.etcd.io/bbolt'])}`,
    );
  }
  buildDir ??= scratchDir('stella-go-tools-');
  const binary = join(buildDir, name);
  execFileSync(go, ['build', '-o', binary, '.'], {
    cwd: join(TOOLS_DIR, name),
    env: {
      ...process.env,
      GOPATH: '/usr/share/gocode',
      GO111MODULE: 'off',
      GOCACHE: join(buildDir, 'gocache'),
      GOFLAGS: '',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  built.set(name, binary);
  return binary;
}

/** Runs a checker; resolves with its output and exit code, rejects only when it could not run or timed out. */
export async function runGoTool(name: GoToolName, args: readonly string[]): Promise<GoToolResult> {
  const binary = goTool(name);
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: GO_TIMEOUT_MS, maxBuffer: 1 << 28 }, (error, stdout, stderr) => {
      if (!error) return resolve({ stdout, stderr, code: 0 });
      if (typeof error.code === 'number' && !error.killed) return resolve({ stdout, stderr, code: error.code });
      reject(new Error(`${name} ${args.join(' ')} did not finish: ${error.message}${stderr ? `\n${stderr}` : ''}`));
    });
  });
}
