// SPDX-License-Identifier: Apache-2.0
// `stella policy lint <file>`: the policy's diagnostics as a compiler prints them
// (`file:line:column: error code message`), exit 2 when any is an error; no server needed. Also
// loadPolicyFile, which the commands that evaluate a policy (scan --policy, policy simulate) share.
import { readFileSync } from 'node:fs';
import { Errors, StellaError } from '@stella/core';
import { type CliCtx, log, printResult } from '@stella/platform';
import { type Command, Option } from 'commander';
import { FindingsErrors } from '../errors.ts';
import { type Policy, type PolicyDiagnostic, parsePolicy } from '../policy/index.ts';
import { policyDigest, policyInvalid } from '../policy/invalid.ts';
import { registerSnapshotCommands } from './policy-snapshots.ts';

export interface LoadedPolicy {
  policy: Policy;
  /** `sha256:` + hex of canonicalPolicy(policy): the snapshot's identity. */
  digest: string;
  text: string;
}

function readPolicyText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new StellaError(Errors.fileNotFound, `${path}: ${(error as Error).message}`, { cause: error });
  }
}

export function formatDiagnostic(file: string, d: PolicyDiagnostic): string {
  return `${file}:${d.line}:${d.column}: ${d.severity} ${d.code} ${d.message}`;
}

/** Reads and parses a policy file; throws ERR_POLICY_INVALID (exit 2) naming the first errors, ERR_FILE_NOT_FOUND when unreadable. */
export function loadPolicyFile(path: string, now: Date): LoadedPolicy {
  const text = readPolicyText(path);
  const { policy, diagnostics } = parsePolicy(text, { now });
  if (!policy) throw policyInvalid(path, diagnostics);
  return { policy, digest: policyDigest(policy), text };
}

function evaluationTime(at: string | undefined): Date {
  if (at === undefined) return new Date();
  const time = Date.parse(at);
  if (!/^\d{4}-\d{2}-\d{2}/.test(at) || Number.isNaN(time))
    throw new StellaError(
      Errors.usage,
      `--at must be an ISO 8601 date or time (2027-01-31, 2027-01-31T12:00:00Z), not "${at}"`,
    );
  return new Date(time);
}

function lintCommand(cli: CliCtx, file: string, flags: { at?: string }): void {
  const now = evaluationTime(flags.at);
  const text = readPolicyText(file);
  const { policy, diagnostics } = parsePolicy(text, { now });
  const opts = cli.globals();
  const digest = policy ? policyDigest(policy) : undefined;
  if (opts.json) printResult(cli.io, opts, { file, valid: policy !== undefined, digest, diagnostics }, () => '');
  else for (const d of diagnostics) cli.io.stdout.write(`${formatDiagnostic(file, d)}\n`);
  if (!policy) {
    const errors = diagnostics.filter((d) => d.severity === 'error').length;
    const warnings = diagnostics.length - errors;
    throw new StellaError(
      FindingsErrors.policyInvalid,
      `${file}: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`,
      {
        details: { file, diagnostics },
      },
    );
  }
  if (!opts.json)
    log(
      cli.io,
      opts,
      `${file}: policy "${policy.metadata.name}" is valid (${diagnostics.length} warning${diagnostics.length === 1 ? '' : 's'}), ${digest}`,
    );
}

export function registerPolicyCommands(program: Command, cli: CliCtx): void {
  const policy = program.command('policy').description('Check and evaluate findings policies (docs/policy.md)');
  policy
    .command('lint')
    .description(
      'Print the diagnostics of a policy file (file:line:column: error|warning code message); exit 2 on any error',
    )
    .argument('<file>', 'the policy YAML file')
    .addOption(
      new Option('--at <time>', 'evaluate exception expiry at this time instead of now (env STELLA_POLICY_AT)').default(
        cli.io.env.STELLA_POLICY_AT,
      ),
    )
    .action((file: string, flags: { at?: string }) => lintCommand(cli, file, flags));
  registerSnapshotCommands(policy, cli);
}
