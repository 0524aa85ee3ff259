// SPDX-License-Identifier: Apache-2.0
// `stella export profile …`: list, show, create and update (validated client-side first), clone, archive.
import { readFileSync, writeFileSync } from 'node:fs';
import { Errors } from '@stella/core';
import { type CliCtx, CliError, createApiClient, log, printResult } from '@stella/platform';
import type { Command } from 'commander';
import { ExportErrors } from '../errors.ts';
import { parseProfileText } from '../profiles/document.ts';
import { profileProblems } from '../profiles/schema.ts';
import type { ProfileView } from '../service/index.ts';

/** A profile file: YAML (`.yaml`/`.yml`) or JSON, parsed as the server parses a body of that type. */
function readProfileFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(Errors.fileNotFound, `${path}: ${(error as Error).message}`, { cause: error });
  }
  if (/\.ya?ml$/i.test(path)) return parseProfileText(text, path);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(Errors.malformedBody, `${path} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Client-side schema check, so a bad file is refused with every problem before any request. */
function checkProfileFile(path: string): unknown {
  const doc = readProfileFile(path);
  const problems = profileProblems(doc);
  if (problems.length > 0) {
    throw new CliError(
      ExportErrors.validation,
      `${path} is not a valid ExportProfile:\n${problems.map((p) => `  ${p.pointer}: ${p.message}`).join('\n')}`,
    );
  }
  return doc;
}

function profileRow(p: ProfileView): string {
  const retention = p.document.spec.retention;
  return [
    p.profileId.padEnd(28),
    p.kind.padEnd(8),
    p.variant.padEnd(8),
    p.document.spec.distribution.join(',').padEnd(18),
    retention ? `${retention.value} ${retention.mode}` : 'default',
    p.archived ? ' (archived)' : '',
  ].join(' ');
}

function registerProfileReads(profile: Command, cli: CliCtx): void {
  const { io, globals } = cli;
  const api = () => createApiClient(io, globals());
  profile
    .command('list')
    .description('List profiles: PROFILE KIND VARIANT DISTRIBUTION RETENTION')
    .option('--kind <kind>', 'json | trivy | mirror | devportal | attestation')
    .option('--variant <variant>', 'raw | policy | db | full | delta | …')
    .option('--archived', 'include archived profiles')
    .action(async (flags: { kind?: string; variant?: string; archived?: boolean }) => {
      const result = await api().json<{ items: ProfileView[] }>('GET', '/api/export/profiles', {
        query: { kind: flags.kind, variant: flags.variant, archived: flags.archived ? 'true' : undefined },
      });
      printResult(io, globals(), result, () =>
        [
          `${'PROFILE'.padEnd(28)} ${'KIND'.padEnd(8)} ${'VARIANT'.padEnd(8)} ${'DISTRIBUTION'.padEnd(18)} RETENTION`,
          ...result.items.map(profileRow),
        ].join('\n'),
      );
    });
  profile
    .command('show')
    .description('Show a profile document (latest revision, or --revision rN)')
    .argument('<id>', 'profile id (its name)')
    .option('--revision <rN>', 'a stored revision, e.g. r2')
    .option('--output <file>', 'write the profile document to a file')
    .action(async (id: string, flags: { revision?: string; output?: string }) => {
      const view = await api().json<ProfileView>('GET', `/api/export/profiles/${encodeURIComponent(id)}`, {
        query: { revision: flags.revision },
      });
      if (flags.output) {
        writeFileSync(flags.output, `${JSON.stringify(view.document, null, 2)}\n`);
        log(io, globals(), `wrote ${id}@${view.revision} to ${flags.output}`);
        return;
      }
      printResult(io, globals(), view, () => JSON.stringify(view.document, null, 2));
    });
}

function registerProfileChanges(profile: Command, cli: CliCtx): void {
  const { io, globals } = cli;
  const api = () => createApiClient(io, globals());
  profile
    .command('create')
    .description('Create a profile from an ExportProfile file, YAML or JSON (validated here first)')
    .requiredOption('--file <path>', 'ExportProfile document: .yaml/.yml is read as YAML, anything else as JSON')
    .action(async (flags: { file: string }) => {
      const response = await api().request('POST', '/api/export/profiles', { body: checkProfileFile(flags.file) });
      const view = (await response.json()) as ProfileView;
      printResult(io, globals(), view, () =>
        response.status === 201
          ? `created ${view.profileId}@${view.revision}`
          : `${view.profileId}@${view.revision} already holds this document: unchanged`,
      );
    });
  profile
    .command('update')
    .description('Store a new revision of a profile from a YAML or JSON file')
    .argument('<id>', 'profile id')
    .requiredOption('--file <path>', 'ExportProfile document, YAML or JSON (metadata.name must be <id>)')
    .action(async (id: string, flags: { file: string }) => {
      const view = await api().json<ProfileView>('PUT', `/api/export/profiles/${encodeURIComponent(id)}`, {
        body: checkProfileFile(flags.file),
      });
      printResult(io, globals(), view, () => `${view.profileId} is at ${view.revision}`);
    });
  profile
    .command('clone')
    .description('Clone a profile under a new name')
    .argument('<id>', 'profile to clone')
    .requiredOption('--name <name>', 'name of the new profile')
    .action(async (id: string, flags: { name: string }) => {
      const view = await api().json<ProfileView>('POST', `/api/export/profiles/${encodeURIComponent(id)}/clone`, {
        body: { name: flags.name },
      });
      printResult(io, globals(), view, () => `cloned ${id} to ${view.profileId}@${view.revision}`);
    });
  profile
    .command('archive')
    .description('Archive a profile (no new runs; history kept)')
    .argument('<id>', 'profile id')
    .action(async (id: string) => {
      const view = await api().json<ProfileView>('POST', `/api/export/profiles/${encodeURIComponent(id)}/archive`);
      printResult(io, globals(), view, () => `archived ${view.profileId}`);
    });
}

export function registerProfileCommands(exportCmd: Command, cli: CliCtx): void {
  const profile = exportCmd.command('profile').description('Export profiles (immutable revisions)');
  registerProfileReads(profile, cli);
  registerProfileChanges(profile, cli);
}
