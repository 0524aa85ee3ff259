// SPDX-License-Identifier: Apache-2.0
// `stella export download` (the file appears only once its sha256 matches) and `stella export keys`.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, writeFileSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Errors } from '@stella/core';
import { type ApiClient, type CliCtx, CliError, createApiClient, log, printResult } from '@stella/platform';
import type { Command } from 'commander';
import { ExportErrors } from '../errors.ts';
import { progressBar } from './watch.ts';

export function registerDownloadCommand(exportCmd: Command, cli: CliCtx): void {
  const { io, globals } = cli;
  const api = () => createApiClient(io, globals());
  exportCmd
    .command('download')
    .description("Download a run's bundle, checking its sha256 while writing (the file appears only when it matches)")
    .argument('<runId>')
    .option('--output <file>', 'where to write the bundle (default: the bundle file name)')
    .action(async (runId: string, flags: { output?: string }) => {
      const bar = progressBar(io, globals().quiet || globals().json);
      const result = await downloadRunBundle(api(), runId, flags.output, (received, size) =>
        bar.draw('download', received / size, `${received}/${size} bytes`),
      );
      bar.end();
      printResult(io, globals(), result, () => `${result.output} ${result.digest} (${result.bytes} bytes)`);
    });
}

export interface DownloadedBundle {
  runId: string;
  output: string;
  digest: string;
  bytes: number;
}

/**
 * Streams a run's bundle to `output` (default: the server's file name) through a `.partial` file that
 * is renamed only once its sha256 matches the digest the server announced; nothing is kept otherwise.
 */
export async function downloadRunBundle(
  client: ApiClient,
  runId: string,
  output: string | undefined,
  onProgress: (received: number, size: number) => void = () => {},
): Promise<DownloadedBundle> {
  const response = await client.request('GET', `/api/export/runs/${encodeURIComponent(runId)}/download`, {
    timeoutMs: 0,
  });
  const expected = response.headers.get('x-stella-bundle-digest') ?? '';
  const size = Number(response.headers.get('content-length') ?? 0);
  const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? `${runId}.bundle`;
  const target = output ?? name;
  const partial = `${target}.partial`;
  const out = createWriteStream(partial);
  const hash = createHash('sha256');
  let received = 0;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      received += chunk.length;
      if (!out.write(chunk)) await once(out, 'drain');
      if (size) onProgress(received, size);
    }
    out.end();
    await once(out, 'finish');
  } catch (error) {
    out.destroy();
    await rm(partial, { force: true });
    throw new CliError(
      Errors.transport,
      `download of ${runId} broke off after ${received} bytes: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const actual = `sha256:${hash.digest('hex')}`;
  if (expected && actual !== expected) {
    await rm(partial, { force: true });
    throw new CliError(
      ExportErrors.verify,
      `downloaded bytes hash to ${actual}, the server announced ${expected}; nothing was kept`,
    );
  }
  await rename(partial, target);
  return { runId, output: target, digest: actual, bytes: received };
}

export function registerKeysCommand(exportCmd: Command, cli: CliCtx): void {
  const { io, globals } = cli;
  const api = () => createApiClient(io, globals());
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
}
