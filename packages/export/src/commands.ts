// SPDX-License-Identifier: Apache-2.0
// `stella export …` (spec §2.4, runbook §4–§8): profiles, runs (submit, watch with a progress bar,
// list, cancel, replay), download with digest check, offline verify, keys, quota and retention.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { ExitCode, lookupError } from '@stella/core';
import { type ApiClient, type CliCtx, CliError, type CliIo, createApiClient, log, printResult } from '@stella/platform';
import { type Command, Option } from 'commander';
import { registerVerifyCommand } from './bundle/index.ts';
import { profileProblems } from './profiles/schema.ts';
import type { ProfileView, RunView } from './service.ts';

const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'expired']);

function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(`${path}: ${(error as Error).message}`, ExitCode.notFound, 'ERR_USAGE');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`${path} is not valid JSON: ${(error as Error).message}`, ExitCode.usage, 'ERR_USAGE');
  }
}

/** Client-side schema check, so a bad file is refused with every problem before any request. */
function checkProfileFile(path: string): unknown {
  const doc = readJsonFile(path);
  const problems = profileProblems(doc);
  if (problems.length > 0) {
    throw new CliError(
      `${path} is not a valid ExportProfile:\n${problems.map((p) => `  ${p.pointer}: ${p.message}`).join('\n')}`,
      ExitCode.usage,
      'ERR_EXPORT_001',
    );
  }
  return doc;
}

function parseSelectors(pairs: string[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0)
      throw new CliError(`--selectors takes key=value pairs, not ${JSON.stringify(pair)}`, ExitCode.usage, 'ERR_USAGE');
    const key = pair.slice(0, at);
    const value = pair.slice(at + 1);
    out[key] = ['sources', 'ecosystems', 'purls'].includes(key) ? value.split(',').filter(Boolean) : value;
  }
  return out;
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

function runLine(r: RunView): string {
  return `${r.runId}  ${r.status.padEnd(9)}  ${r.profileId}@${r.profileRevision}  ${String(r.progress.percent).padStart(3)}%  ${r.createdAt}${r.errorCode ? `  ${r.errorCode}` : ''}`;
}

/** A one-line progress bar on stderr, redrawn in place on a terminal, one line per step otherwise. */
function progressBar(io: CliIo, quiet: boolean) {
  const tty = (io.stderr as NodeJS.WriteStream).isTTY === true;
  let lastLine = '';
  return {
    draw(label: string, fraction: number, detail: string) {
      if (quiet) return;
      const width = 30;
      const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
      const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor(fraction * 100)
        .toString()
        .padStart(3)}% ${detail}`;
      if (line === lastLine) return;
      lastLine = line;
      io.stderr.write(tty ? `\r${line}` : `${line}\n`);
    },
    end() {
      if (!quiet && tty && lastLine) io.stderr.write('\n');
    },
  };
}

function exitForRun(run: { status: string; errorCode?: string | null; errors?: { code: string; message: string }[] }) {
  if (run.status === 'succeeded' || run.status === 'completed') return;
  const code = run.errors?.[0]?.code ?? run.errorCode ?? 'ERR_EXPORT_004';
  const def = lookupError(code);
  const message = run.errors?.map((e) => `${e.code}: ${e.message}`).join('; ') || `run ${run.status}`;
  throw new CliError(
    `export run ${run.status}${run.errorCode ? ` (errorCode=${run.errorCode})` : ''}: ${message}`,
    def?.exit ?? ExitCode.failure,
    code,
  );
}

/** Follows a run's SSE stream to its end, reconnecting with Last-Event-ID; returns the final run. */
async function watchRun(client: ApiClient, io: CliIo, quiet: boolean, runId: string): Promise<RunView> {
  const bar = progressBar(io, quiet);
  let lastId = '';
  let done = false;
  for (let attempt = 0; !done && attempt < 20; attempt++) {
    let response: Response;
    try {
      response = await client.request('GET', `/api/export/runs/${encodeURIComponent(runId)}/events`, {
        headers: { accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) },
        timeoutMs: 0,
      });
    } catch (error) {
      if (error instanceof CliError && error.exit !== ExitCode.transport) throw error;
      await new Promise((r) => setTimeout(r, Math.min(1000 * 2 ** attempt, 10_000)));
      continue;
    }
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let split = buffer.indexOf('\n\n'); split >= 0; split = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, split);
          buffer = buffer.slice(split + 2);
          let type = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('id: ')) lastId = line.slice(4);
            else if (line.startsWith('event: ')) type = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (!data) continue;
          const event = JSON.parse(data) as {
            progress?: { percent: number; itemsCompleted: number; itemsTotal: number };
          };
          if (event.progress) {
            const p = event.progress;
            bar.draw(`${runId} ${type}`, p.percent / 100, `${p.itemsCompleted}/${p.itemsTotal} records`);
          }
          if (TERMINAL.has(type)) done = true;
        }
      }
    } catch {
      // The stream broke; reconnect with Last-Event-ID.
    }
  }
  bar.end();
  return client.json<RunView>('GET', `/api/export/runs/${encodeURIComponent(runId)}`);
}

export function registerExportCommands(program: Command, cli: CliCtx): void {
  const { io, globals } = cli;
  const api = () => createApiClient(io, globals());
  const exportCmd = program
    .command('export')
    .description(
      'Export Center: profiles, runs, bundles, offline verification and retention (runbook: docs/runbooks/export.md)',
    );

  // ---- profiles ----
  const profile = exportCmd.command('profile').description('Export profiles (immutable revisions)');
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
  profile
    .command('create')
    .description('Create a profile from an ExportProfile JSON file (validated here first)')
    .requiredOption('--file <json>', 'ExportProfile document')
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
    .description('Store a new revision of a profile from a JSON file')
    .argument('<id>', 'profile id')
    .requiredOption('--file <json>', 'ExportProfile document (metadata.name must be <id>)')
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

  // ---- runs ----
  const run = exportCmd.command('run').description('Export runs');
  run
    .command('submit')
    .description('Submit a run; prints the run id (--watch follows it to the end)')
    .requiredOption('--profile <id>', 'profile id')
    .option('--selectors <key=value...>', 'since=7d until=… sources=a,b ecosystems=npm,golang purls=pkg:npm/x')
    .addOption(
      new Option('--priority <priority>', 'normal | catch-up (runs before normal runs)').choices([
        'normal',
        'catch-up',
      ]),
    )
    .option('--allow-empty', 'succeed with an empty bundle when the selectors match nothing')
    .option('--watch', 'follow the run with a progress bar; exit code from its final state')
    .action(
      async (flags: {
        profile: string;
        selectors?: string[];
        priority?: string;
        allowEmpty?: boolean;
        watch?: boolean;
      }) => {
        const client = api();
        const submitted = await client.json<{ runId: string; status: string }>('POST', '/api/export/runs', {
          body: {
            profileId: flags.profile,
            selectors: parseSelectors(flags.selectors),
            ...(flags.allowEmpty ? { allowEmpty: true } : {}),
            ...(flags.priority ? { priority: flags.priority } : {}),
          },
        });
        if (!flags.watch) {
          printResult(io, globals(), submitted, () => submitted.runId);
          return;
        }
        log(io, globals(), `submitted ${submitted.runId}`);
        const final = await watchRun(client, io, globals().quiet || globals().json, submitted.runId);
        printResult(
          io,
          globals(),
          final,
          () => `${final.runId} ${final.status}${final.bundle ? ` ${final.bundle.digest}` : ''}`,
        );
        exitForRun(final);
      },
    );
  run
    .command('watch')
    .description('Follow a run (SSE) with a progress bar; exit 0 when it succeeds, its error code otherwise')
    .argument('<runId>')
    .action(async (runId: string) => {
      const client = api();
      const final = await watchRun(client, io, globals().quiet || globals().json, runId);
      printResult(
        io,
        globals(),
        final,
        () => `${final.runId} ${final.status}${final.bundle ? ` ${final.bundle.digest}` : ''}`,
      );
      exitForRun(final);
    });
  run
    .command('list')
    .description('List runs, newest first')
    .option('--profile <id>')
    .option('--status <status>', 'queued | running | succeeded | failed | cancelled | expired')
    .option('--limit <n>', 'page size (max 200)', '50')
    .action(async (flags: { profile?: string; status?: string; limit: string }) => {
      const result = await api().json<{ items: RunView[] }>('GET', '/api/export/runs', {
        query: { profile: flags.profile, status: flags.status, limit: flags.limit },
      });
      printResult(io, globals(), result, () => result.items.map(runLine).join('\n') || '(no runs)');
    });
  run
    .command('show')
    .description('Show one run')
    .argument('<runId>')
    .action(async (runId: string) => {
      const view = await api().json<RunView>('GET', `/api/export/runs/${encodeURIComponent(runId)}`);
      printResult(io, globals(), view, () => JSON.stringify(view, null, 2));
    });
  run
    .command('cancel')
    .description('Cancel a queued or running run')
    .argument('<runId>')
    .action(async (runId: string) => {
      const view = await api().json<RunView>('POST', `/api/export/runs/${encodeURIComponent(runId)}/cancel`);
      printResult(io, globals(), view, () => `${view.runId} ${view.status}`);
    });
  run
    .command('replay')
    .description('Resubmit a run with the same profile revision and selectors (runbook §7.1)')
    .argument('<runId>')
    .option('--watch', 'follow the new run')
    .action(async (runId: string, flags: { watch?: boolean }) => {
      const client = api();
      const submitted = await client.json<{ runId: string }>(
        'POST',
        `/api/export/runs/${encodeURIComponent(runId)}/replay`,
      );
      if (!flags.watch) {
        printResult(io, globals(), submitted, () => submitted.runId);
        return;
      }
      const final = await watchRun(client, io, globals().quiet || globals().json, submitted.runId);
      printResult(io, globals(), final, () => `${final.runId} ${final.status}`);
      exitForRun(final);
    });

  // ---- download, verify, keys, quota, retention ----
  exportCmd
    .command('download')
    .description("Download a run's bundle, checking its sha256 while writing (the file appears only when it matches)")
    .argument('<runId>')
    .option('--output <file>', 'where to write the bundle (default: the bundle file name)')
    .action(async (runId: string, flags: { output?: string }) => {
      const client = api();
      const response = await client.request('GET', `/api/export/runs/${encodeURIComponent(runId)}/download`, {
        timeoutMs: 0,
      });
      const expected = response.headers.get('x-stella-bundle-digest') ?? '';
      const size = Number(response.headers.get('content-length') ?? 0);
      const name =
        /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? `${runId}.bundle`;
      const output = flags.output ?? name;
      const partial = `${output}.partial`;
      const out = createWriteStream(partial);
      const hash = createHash('sha256');
      const bar = progressBar(io, globals().quiet || globals().json);
      let received = 0;
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          hash.update(chunk);
          received += chunk.length;
          if (!out.write(chunk)) await once(out, 'drain');
          if (size) bar.draw('download', received / size, `${received}/${size} bytes`);
        }
        out.end();
        await once(out, 'finish');
      } catch (error) {
        out.destroy();
        await rm(partial, { force: true });
        throw new CliError(
          `download of ${runId} broke off after ${received} bytes: ${(error as Error).message}`,
          ExitCode.transport,
          'ERR_TRANSPORT',
        );
      }
      bar.end();
      const actual = `sha256:${hash.digest('hex')}`;
      if (expected && actual !== expected) {
        await rm(partial, { force: true });
        throw new CliError(
          `downloaded bytes hash to ${actual}, the server announced ${expected}; nothing was kept`,
          ExitCode.verificationFailed,
          'ERR_EXPORT_009',
        );
      }
      await rename(partial, output);
      printResult(
        io,
        globals(),
        { runId, output, digest: actual, bytes: received },
        () => `${output} ${actual} (${received} bytes)`,
      );
    });

  registerVerifyCommand(exportCmd, cli);

  exportCmd
    .command('keys')
    .description("The tenant's export-center public key (PEM), to verify bundles with --key")
    .option('--output <file>', 'write the active key to a PEM file')
    .action(async (flags: { output?: string }) => {
      const result = await api().json<{ keys: { keyid: string; status: string; publicKeyPem: string }[] }>(
        'GET',
        '/api/export/keys',
      );
      const active = result.keys.find((k) => k.status === 'active');
      if (flags.output && active) {
        writeFileSync(flags.output, active.publicKeyPem);
        log(io, globals(), `wrote ${active.keyid} to ${flags.output}`);
      }
      printResult(io, globals(), result, () =>
        result.keys.map((k) => `${k.keyid} ${k.status}\n${k.publicKeyPem}`).join('\n'),
      );
    });

  const quota = exportCmd.command('quota').description("The tenant's export quota (runs per UTC day)");
  quota.command('show').action(async () => {
    const q = await api().json<{ limit: number; remaining: number; reset: number }>('GET', '/api/export/quota');
    printResult(
      io,
      globals(),
      q,
      () => `limit ${q.limit}/day, remaining ${q.remaining}, resets ${new Date(q.reset * 1000).toISOString()}`,
    );
  });
  quota
    .command('set')
    .description('Set runs per day; 0 pauses submissions (KMS outage, runbook §7.3)')
    .requiredOption('--runs-per-day <n>', 'runs per UTC day (0 pauses)')
    .action(async (flags: { runsPerDay: string }) => {
      const n = Number(flags.runsPerDay);
      if (!Number.isInteger(n) || n < 0)
        throw new CliError('--runs-per-day must be an integer ≥ 0', ExitCode.usage, 'ERR_USAGE');
      const q = await api().json<{ limit: number; remaining: number }>('PUT', '/api/export/quota', {
        body: { runsPerDay: n },
      });
      printResult(io, globals(), q, () =>
        n === 0 ? 'export submissions paused (quota 0)' : `quota set to ${q.limit}/day (${q.remaining} left today)`,
      );
    });

  exportCmd
    .command('retention')
    .description('Retention')
    .command('run')
    .description("Prune this tenant's bundles by each profile's retention now (the nightly job does every tenant)")
    .action(async () => {
      const report = await api().json<{
        pruned: { runId: string; profileId: string; reason: string }[];
        blobsDeleted: number;
      }>('POST', '/api/export/retention/run');
      printResult(io, globals(), report, () =>
        report.pruned.length === 0
          ? 'nothing to prune'
          : [
              ...report.pruned.map((p) => `expired ${p.runId} (${p.profileId}): ${p.reason}`),
              `${report.blobsDeleted} blobs deleted`,
            ].join('\n'),
      );
    });
}
