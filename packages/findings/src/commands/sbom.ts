// SPDX-License-Identifier: Apache-2.0
// `stella sbom ingest|list|components`: store an SBOM on the server and read back what was stored
// (runbook: docs/runbooks/sbom.md). Results go to stdout (--json for machines), notes to stderr.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Errors } from '@stella/core';
import { type CliCtx, CliError, createApiClient, printResult } from '@stella/platform';
import type { Command } from 'commander';
import type { SbomComponentView, SbomRecord } from '../sbom/record.ts';
import type { IngestResult, Page } from '../service.ts';

interface IngestFlags {
  scanId?: string;
  imageDigest?: string;
  component?: string;
  version?: string;
}

// A large SBOM takes a while to upload and store; the client's default 60 s would cut it off.
const INGEST_TIMEOUT_MS = 10 * 60 * 1000;

export function readSbomFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new CliError(Errors.fileNotFound, `${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** Each issue kind with how often it occurs, most frequent first. */
export function issueCounts(record: Pick<SbomRecord, 'issues'>): [string, number][] {
  const counts = new Map<string, number>();
  for (const issue of record.issues) counts.set(issue.kind, (counts.get(issue.kind) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

function describeIngest(result: IngestResult): string {
  const counts = issueCounts(result);
  return [
    `${result.duplicate ? 'already stored' : 'stored'} ${result.id}`,
    `subject     ${result.subjectKey}`,
    `format      ${result.format} ${result.specVersion}`,
    `components  ${result.components}${result.root ? ` (+ root ${result.root.name}@${result.root.version ?? '?'})` : ''}`,
    `edges       ${result.edges}`,
    `issues      ${counts.length === 0 ? 'none' : counts.map(([kind, n]) => `${kind} ${n}`).join(', ')}`,
  ].join('\n');
}

async function ingestCommand({ io, globals }: CliCtx, file: string, flags: IngestFlags): Promise<void> {
  if ((flags.component === undefined) !== (flags.version === undefined))
    throw new CliError(Errors.usage, '--component and --version go together: pass both, or neither');
  const bytes = readSbomFile(file);
  const result = await createApiClient(io, globals()).json<IngestResult>('POST', '/sboms', {
    scope: 'sbom:ingest',
    rawBody: { contentType: 'application/json', data: bytes },
    query: { ...flags, filename: basename(file) },
    timeoutMs: INGEST_TIMEOUT_MS,
  });
  printResult(io, globals(), result, () => describeIngest(result));
}

function sbomRow(r: SbomRecord): string {
  return [r.id.padEnd(77), r.ingestedAt.padEnd(25), `${r.format} ${r.specVersion}`.padEnd(16), r.subjectKey].join(' ');
}

async function listCommand({ io, globals }: CliCtx, flags: { subject?: string; limit?: string }): Promise<void> {
  const page = await createApiClient(io, globals()).json<Page<SbomRecord>>('GET', '/sboms', {
    scope: 'sbom:read',
    query: { subject: flags.subject, limit: flags.limit },
  });
  printResult(io, globals(), page, () =>
    [`${'ID'.padEnd(77)} ${'INGESTED'.padEnd(25)} ${'FORMAT'.padEnd(16)} SUBJECT`, ...page.items.map(sbomRow)].join(
      '\n',
    ),
  );
}

/** Every component, page after page: the table is what a reader wants, however long the SBOM. */
async function componentsCommand({ io, globals }: CliCtx, id: string): Promise<void> {
  const api = createApiClient(io, globals());
  const items: SbomComponentView[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.json<Page<SbomComponentView>>('GET', `/sboms/${encodeURIComponent(id)}/components`, {
      scope: 'sbom:read',
      query: { limit: 1000, cursor },
    });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  printResult(io, globals(), { items }, () =>
    [
      `${'NAME'.padEnd(40)} ${'VERSION'.padEnd(20)} ${'ECOSYSTEM'.padEnd(12)} PURL`,
      ...items.map((c) =>
        [
          `${c.root ? '* ' : ''}${c.name}`.padEnd(40),
          (c.version ?? '-').padEnd(20),
          (c.ecosystem ?? '-').padEnd(12),
          c.purl ?? `- (${c.identifiedBy})`,
        ].join(' '),
      ),
    ].join('\n'),
  );
}

export function registerSbomCommands(program: Command, cli: CliCtx): void {
  const sbom = program.command('sbom').description('Store SBOMs and read them back (runbook: docs/runbooks/sbom.md)');
  sbom
    .command('ingest')
    .description('Store a CycloneDX or SPDX JSON SBOM verbatim; prints its id, subject, counts and issues')
    .argument('<file>', 'the SBOM file (CycloneDX 1.2–1.6 JSON or SPDX 2.2/2.3 JSON)')
    .option('--scan-id <id>', 'subject: scan id')
    .option('--image-digest <digest>', 'subject: image digest (sha256:…)')
    .option('--component <name>', 'subject: component (with --version)')
    .option('--version <version>', 'subject: component version')
    .action((file: string, flags: IngestFlags) => ingestCommand(cli, file, flags));
  sbom
    .command('list')
    .description('List stored SBOMs, newest first: ID INGESTED FORMAT SUBJECT')
    .option('--subject <key>', 'only SBOMs of this subject key')
    .option('--limit <n>', 'at most this many (1-1000, default 100)')
    .action((flags: { subject?: string; limit?: string }) => listCommand(cli, flags));
  sbom
    .command('components')
    .description("List an SBOM's components (the root marked *): NAME VERSION ECOSYSTEM PURL")
    .argument('<id>', 'the SBOM id (sbom:sha256:…)')
    .action((id: string) => componentsCommand(cli, id));
}
