// SPDX-License-Identifier: Apache-2.0
// Following a run from the terminal: its SSE stream drawn as a progress bar on stderr, and the exit
// code its final state maps to.
import { Errors, ExitCode } from '@stella/core';
import { type ApiClient, CliError, type CliIo } from '@stella/platform';
import { ExportErrors } from '../errors.ts';
import type { RunView } from '../service/index.ts';

const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'expired']);

/** A one-line progress bar on stderr, redrawn in place on a terminal, one line per step otherwise. */
export function progressBar(io: CliIo, quiet: boolean) {
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

export function exitForRun(run: {
  status: string;
  errorCode?: string | null;
  errors?: { code: string; message: string }[];
}) {
  if (run.status === 'succeeded' || run.status === 'completed') return;
  const code = run.errors?.[0]?.code ?? run.errorCode ?? ExportErrors.adapter.code;
  const message = run.errors?.map((e) => `${e.code}: ${e.message}`).join('; ') || `run ${run.status}`;
  throw CliError.relayed(
    code,
    Errors.unknownCode,
    `export run ${run.status}${run.errorCode ? ` (errorCode=${run.errorCode})` : ''}: ${message}`,
  );
}

/** Follows a run's SSE stream to its end, reconnecting with Last-Event-ID; returns the final run. */
export async function watchRun(client: ApiClient, io: CliIo, quiet: boolean, runId: string): Promise<RunView> {
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
