// SPDX-License-Identifier: Apache-2.0
// `stella policy simulate --policy <file> --sbom <file>…`: the batch simulation a CI job runs on a
// policy change (seed 003): every SBOM scanned on the server (nothing stored), evaluated here under
// the policy file, and the result printed as Markdown for a pull-request comment (or written to
// --output). Exit 1 when any SBOM crosses the policy's fail or warn threshold, 2 for bad input.
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { type CliCtx, log, printResult } from '@stella/platform';
import { type Command, Option } from 'commander';
import { markdownSummary, summarize } from '../policy/index.ts';
import { decide, enforceThresholds, scanFile } from './evaluate.ts';
import { evaluationTime, loadPolicyFile } from './policy-file.ts';

interface SimulateFlags {
  policy: string;
  sbom: string[];
  output?: string;
  at?: string;
}

async function simulateCommand(cli: CliCtx, flags: SimulateFlags): Promise<void> {
  const opts = cli.globals();
  const at = evaluationTime(flags.at);
  const { policy, digest } = loadPolicyFile(flags.policy, at);
  const subjects = [];
  for (const [i, file] of flags.sbom.entries()) {
    log(cli.io, opts, `[${i + 1}/${flags.sbom.length}] scanning ${file}`);
    const report = await scanFile(cli, file);
    const name = report.subjectKey ? `${basename(file)} (${report.subjectKey})` : basename(file);
    subjects.push({ name, findings: decide(report.findings, policy, at) });
  }
  const results = subjects.map((s) => ({
    name: s.name,
    summary: summarize(
      s.findings.map((f) => f.decision),
      policy,
    ),
  }));
  const markdown = markdownSummary({ policy, policyDigest: digest, subjects });
  if (flags.output) writeFileSync(flags.output, markdown);
  printResult(cli.io, opts, { policy: policy.metadata.name, digest, at: at.toISOString(), subjects: results }, () =>
    flags.output ? `wrote ${flags.output}` : markdown.trimEnd(),
  );
  enforceThresholds(policy, results);
}

export function registerSimulateCommand(policy: Command, cli: CliCtx): void {
  policy
    .command('simulate')
    .description(
      'Evaluate SBOMs under a policy file against the server’s advisories, VEX and reachability; print a Markdown summary; exit 1 over a threshold',
    )
    .requiredOption('--policy <file>', 'the policy YAML file')
    .requiredOption('--sbom <file...>', 'one or more SBOM files (CycloneDX or SPDX JSON)')
    .option('--output <file>', 'write the Markdown here instead of printing it')
    .addOption(
      new Option('--at <time>', 'evaluate exception expiry at this time instead of now (env STELLA_POLICY_AT)').default(
        cli.io.env.STELLA_POLICY_AT,
      ),
    )
    .action((flags: SimulateFlags) => simulateCommand(cli, flags));
}
