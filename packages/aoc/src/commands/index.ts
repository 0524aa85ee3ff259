// SPDX-License-Identifier: Apache-2.0
// The AOC verbs: `stella sources ingest` (local guard, then NDJSON batches to the server) and
// `stella aoc verify` (spec §3.5). The actions live in ingest.ts and verify.ts.
import type { CliCtx } from '@stella/platform';
import type { Command } from 'commander';
import { CONNECTOR_KINDS } from '../connectors/index.ts';
import { ingestCommand } from './ingest.ts';
import type { IngestFlags } from './local.ts';
import { type VerifyFlags, verifyCommand } from './verify.ts';

export function registerAocCommands(program: Command, cli: CliCtx): void {
  const sources = program.command('sources').description('Upstream advisory and VEX sources (AOC ingestion)');
  sources
    .command('ingest')
    .description(
      'Ingest raw documents from a file, directory, OSV zip, CSAF provider or HTTP(S) index; --dry-run only guards',
    )
    .requiredOption('--source <vendor>', 'source vendor the documents come from (e.g. osv, ghsa, redhat)')
    .requiredOption(
      '--input <path|url>',
      'a file, a directory, an OSV all.zip, a provider-metadata.json, or an http(s) base URL',
    )
    .option('--dry-run', 'run the guard and print violations; write nothing (exit code of the first violation)')
    .option('--kind <kind>', 'auto | advisory | vex', 'auto')
    .option('--connector <kind>', `force a connector: ${CONNECTOR_KINDS.join(' | ')} (default: detected from --input)`)
    .option('--format <format>', 'json | table (default table; --json implies json)')
    .option('--output <file>', 'also write the JSON report to this file')
    .option('--batch <n>', 'documents per request', '100')
    .option('--document-bytes <n>', 'largest document accepted locally (default: limits.documentBytes)')
    .action((flags: IngestFlags) => ingestCommand(flags, cli));

  const aoc = program.command('aoc').description('Aggregation-Only Contract checks');
  aoc
    .command('verify')
    .description(
      'Re-check stored raw advisories and VEX: hashes, forbidden fields, supersedes chains (exit 0 clean, 11–17 first violation, 18 truncated)',
    )
    .option('--since <time|duration>', 'RFC 3339 time or duration back from now (30m, 24h, 7d)', '24h')
    .option('--until <time>', 'RFC 3339 upper bound (exclusive)')
    .option('--sources <vendors>', 'comma-separated source vendors')
    .option('--codes <codes>', 'comma-separated ERR_AOC_00x codes to report')
    .option('--limit <n>', 'most rows checked per store', '100000')
    .option('--format <format>', 'json | table (default table; --json implies json)')
    .option('--export <file>', 'write the JSON report to this file')
    .action((flags: VerifyFlags) => verifyCommand(flags, cli));
}
