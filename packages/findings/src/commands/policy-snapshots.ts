// SPDX-License-Identifier: Apache-2.0
// `stella policy publish|activate|active|list|show`: policy snapshots on the server (docs/policy.md).
// publish lints the file locally first, so a policy with errors is reported with the file's line and
// column and never sent.
import { readFileSync } from 'node:fs';
import { type CliCtx, createApiClient, printResult } from '@stella/platform';
import type { Command } from 'commander';
import type { SnapshotDetail, SnapshotView } from '../snapshots/service.ts';
import { loadPolicyFile } from './policy-file.ts';

interface Activation {
  seq: number;
  activatedBy: string;
  activatedAt: string;
  snapshot: SnapshotView;
}

const describeActivation = (a: Activation) =>
  `active: ${a.snapshot.id} (${a.snapshot.name}), activation ${a.seq} by ${a.activatedBy} at ${a.activatedAt}`;

async function publishCommand({ io, globals }: CliCtx, file: string, flags: { activate?: boolean }): Promise<void> {
  const { text, digest } = loadPolicyFile(file, new Date());
  const api = createApiClient(io, globals());
  const snapshot = await api.json<SnapshotDetail>('POST', '/policy/snapshots', {
    scope: 'policy:write',
    rawBody: { contentType: 'application/yaml', data: readFileSync(file) },
    query: { activate: flags.activate ? 'true' : undefined },
  });
  // The server computes the id from the same canonical JSON; a difference means different parsers.
  if (snapshot.id !== digest) io.stderr.write(`stella: warning: the server's snapshot id differs from ${digest}\n`);
  printResult(io, globals(), snapshot, () =>
    [
      `snapshot ${snapshot.id}`,
      `name     ${snapshot.name}`,
      `signed   ${snapshot.signerKeyid}`,
      flags.activate ? 'active   yes (findings are being recomputed)' : 'active   no (stella policy activate <id>)',
      `bytes    ${Buffer.byteLength(text)}`,
    ].join('\n'),
  );
}

async function activateCommand({ io, globals }: CliCtx, id: string): Promise<void> {
  const activation = await createApiClient(io, globals()).json<Activation>('PUT', '/policy/active', {
    scope: 'policy:write',
    body: { snapshotId: id },
  });
  printResult(io, globals(), activation, () => describeActivation(activation));
}

async function activeCommand({ io, globals }: CliCtx): Promise<void> {
  const activation = await createApiClient(io, globals()).json<Activation>('GET', '/policy/active', {
    scope: 'policy:read',
  });
  printResult(io, globals(), activation, () => describeActivation(activation));
}

async function listCommand({ io, globals }: CliCtx, flags: { limit?: string }): Promise<void> {
  const page = await createApiClient(io, globals()).json<{ items: SnapshotView[] }>('GET', '/policy/snapshots', {
    scope: 'policy:read',
    query: { limit: flags.limit },
  });
  printResult(io, globals(), page, () =>
    [
      `${'ID'.padEnd(71)} ${'CREATED'.padEnd(24)} NAME`,
      ...page.items.map((s) => `${s.id.padEnd(71)} ${s.createdAt.padEnd(24)} ${s.name}`),
    ].join('\n'),
  );
}

async function showCommand({ io, globals }: CliCtx, id: string): Promise<void> {
  const snapshot = await createApiClient(io, globals()).json<SnapshotDetail>(
    'GET',
    `/policy/snapshots/${encodeURIComponent(id)}`,
    { scope: 'policy:read' },
  );
  printResult(io, globals(), snapshot, () => snapshot.source.trimEnd());
}

/** The server-side verbs, under the `policy` command lint and simulate also live on. */
export function registerSnapshotCommands(policy: Command, cli: CliCtx): void {
  policy
    .command('publish')
    .description('Publish a policy file as an immutable, signed snapshot; prints its id')
    .argument('<file>', 'the policy YAML file')
    .option('--activate', "also make it the tenant's active policy (findings are recomputed under it)")
    .action((file: string, flags: { activate?: boolean }) => publishCommand(cli, file, flags));
  policy
    .command('activate')
    .description("Make a published snapshot the tenant's active policy")
    .argument('<id>', 'the snapshot id (sha256:…)')
    .action((id: string) => activateCommand(cli, id));
  policy
    .command('active')
    .description('Show the active snapshot')
    .action(() => activeCommand(cli));
  policy
    .command('list')
    .description('List published snapshots, newest first: ID CREATED NAME')
    .option('--limit <n>', 'at most this many (1-500, default 50)')
    .action((flags: { limit?: string }) => listCommand(cli, flags));
  policy
    .command('show')
    .description('Print a snapshot as published (its YAML); with --json also its canonical policy and DSSE envelope')
    .argument('<id>', 'the snapshot id (sha256:…)')
    .action((id: string) => showCommand(cli, id));
}
