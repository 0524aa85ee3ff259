// SPDX-License-Identifier: Apache-2.0
// `stella aoc verify` (spec §3.5): asks the server to re-check its stored raw rows and exits with the
// first violation's code (11–17), 18 when the check was truncated, 0 when clean.
import { writeFileSync } from 'node:fs';
import { Errors } from '@stella/core';
import { type CliCtx, CliError, createApiClient, printResult, verifierClientId } from '@stella/platform';
import { AocErrors } from '../errors.ts';
import type { VerifyReport } from '../verify/run.ts';

export interface VerifyFlags {
  since: string;
  until?: string;
  sources?: string;
  codes?: string;
  limit: string;
  format?: string;
  export?: string;
}

export async function verifyCommand(flags: VerifyFlags, { io, globals, loadConfig }: CliCtx): Promise<void> {
  const opts = globals();
  const json = opts.json || flags.format === 'json';
  // The read-only verifier of seed 004 §3, as AOC_VERIFIER_USER names it.
  const client = createApiClient(io, opts, { credentialsClient: verifierClientId(loadConfig) });
  const report = await client.json<VerifyReport>('POST', '/aoc/verify', {
    scope: 'aoc:verify advisory:read vex:read',
    headers: { 'x-stella-initiator': 'cli' },
    body: {
      since: flags.since,
      ...(flags.until ? { until: flags.until } : {}),
      ...(flags.sources
        ? {
            sources: flags.sources
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
          }
        : {}),
      ...(flags.codes
        ? {
            codes: flags.codes
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
          }
        : {}),
      limit: Number(flags.limit),
    },
  });
  if (flags.export) writeFileSync(flags.export, `${JSON.stringify(report, null, 2)}\n`);
  printResult(io, { ...opts, json }, report, () =>
    [
      ...report.violations.map((v) => `${v.code}  ${v.id}  ${v.path}  ${v.message}`),
      `checked ${Object.entries(report.checked)
        .filter(([store]) => report.stores.includes(store as never))
        .map(([store, n]) => `${n} ${store}`)
        .join(
          ', ',
        )} since ${report.since}: ${report.violations.length ? `${report.violations.length} violation(s)` : 'clean'}${report.truncated ? ' (truncated)' : ''}`,
    ].join('\n'),
  );
  const first = report.violations[0];
  if (first) {
    throw CliError.relayed(first.code, Errors.unknownCode, `AOC verification failed: ${first.code} ${first.message}`);
  }
  if (report.truncated) {
    throw new CliError(
      AocErrors.verifyTruncated,
      'AOC verification truncated: raise --limit or narrow --since/--sources',
    );
  }
}
