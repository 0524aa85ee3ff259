// SPDX-License-Identifier: Apache-2.0
// `stella policy …`: lint (the policy's diagnostics as a compiler prints them,
// `file:line:column: error code message`, exit 2 when any is an error; no server needed), simulate,
// and the snapshot verbs (policy-snapshots.ts).
import { StellaError } from '@stella/core';
import { type CliCtx, log, printResult } from '@stella/platform';
import { type Command, Option } from 'commander';
import { FindingsErrors } from '../errors.ts';
import { type PolicyDiagnostic, parsePolicy } from '../policy/index.ts';
import { policyDigest } from '../policy/invalid.ts';
import { evaluationTime, readPolicyText } from './policy-file.ts';
import { registerSnapshotCommands } from './policy-snapshots.ts';
import { registerSimulateCommand } from './simulate.ts';

export function formatDiagnostic(file: string, d: PolicyDiagnostic): string {
  return `${file}:${d.line}:${d.column}: ${d.severity} ${d.code} ${d.message}`;
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
  registerSimulateCommand(policy, cli);
  registerSnapshotCommands(policy, cli);
}
