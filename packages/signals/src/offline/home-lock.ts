// $STELLA_HOME/serve.lock, taken as `stella serve` takes it: PGlite's data directory is used by one
// process at a time. A live holder is refused with the remedy (stop it, or send the trace through
// its API, with the exact commands); a stale lock (crashed holder) is taken.
import { resolve } from 'node:path';
import { StellaError } from '@stella/core';
import { type Config, lockHome as lockHomeFile } from '@stella/platform';
import { SignalsErrors } from '../errors.ts';
import type { Subject } from '../runtime/subject.ts';

/** What the remedy names: the trace the offline ingest was asked to import. */
export interface LockedOutIngest {
  config: Config;
  tenant: string;
  graphHash: string;
  runtimePath: string;
  subject?: Subject;
  /** Where the stella server of this home listens (STELLA_SERVER), for the remedy when it runs. */
  serverUrl?: string;
}

/** The URL a server started with this config listens on (`stella serve` prints the same). */
function serverUrlOf(config: Config): string {
  if (config.server.publicUrl) return config.server.publicUrl.replace(/\/+$/, '');
  const { host, port } = config.server;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port === 0 ? '<port it printed>' : port}`;
}

/** Quotes for a POSIX shell when needed, so the printed commands can be pasted as they are. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

const FLAG_OF: Record<string, string> = {
  scanId: '--scan-id',
  imageDigest: '--image-digest',
  component: '--component',
  version: '--version',
};

/**
 * The remedy when a live server holds the home: stop it, or send the same trace through its API
 * (the exact `stella` and curl forms for this tenant, graph, trace and subject).
 */
function homeInUse(home: string, pid: number, options: LockedOutIngest): StellaError {
  const url = (options.serverUrl || serverUrlOf(options.config)).replace(/\/+$/, '');
  const subject = Object.entries(options.subject ?? {}).filter(([, v]) => v !== undefined && v !== '');
  const stella = [
    'npx stella --server',
    shellWord(url),
    '--tenant',
    shellWord(options.tenant),
    'signals ingest-runtime --graph-hash',
    shellWord(options.graphHash),
    '--runtime',
    shellWord(options.runtimePath),
    ...subject.flatMap(([k, v]) => [FLAG_OF[k] ?? `--${k}`, shellWord(String(v))]),
  ].join(' ');
  const query = new URLSearchParams({ graph_hash: options.graphHash, ...Object.fromEntries(subject) }).toString();
  const curl = [
    `curl -fsS -X POST ${shellWord(`${url}/api/v1/runtime-facts?${query}`)}`,
    `-H "Authorization: Bearer $(npx stella --server ${shellWord(url)} --tenant ${shellWord(options.tenant)} auth token --scope signals:write)"`,
    `-H ${shellWord(`X-Stella-Tenant: ${options.tenant}`)} -H 'Content-Type: application/x-ndjson'`,
    `--data-binary @${shellWord(options.runtimePath)}`,
  ].join(' ');
  return new StellaError(
    SignalsErrors.homeInUse,
    [
      `the stella server with pid ${pid} is running on ${resolve(home)} and owns its embedded database, so the offline ingest cannot open it. Either:`,
      `  - stop that server (Ctrl-C where it runs, or \`kill ${pid}\`) and run this command again; or`,
      `  - send the same trace through the running server's API (it does not check the bundle's manifest, DSSE or time anchor; this command does):`,
      `      ${stella}`,
      '    which is the same as',
      `      ${curl}`,
    ].join('\n'),
    { details: { pid, home: resolve(home), serverUrl: url } },
  );
}

/** Takes the home's serve.lock; returns its release. */
export function lockHome(home: string, options: LockedOutIngest): () => void {
  return lockHomeFile(home, (holder) => homeInUse(home, holder, options));
}
