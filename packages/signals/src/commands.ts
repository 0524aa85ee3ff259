// `stella signals ingest-runtime` (online, or --offline straight into the local database and CAS),
// its seed-000 alias `stella signals-offline ingest-runtime`, `stella graph verify` and
// `stella attest runtime`.
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { canonicalJson, dsseSign, Errors } from '@stella/core';
import { type CliCtx, CliError, createApiClient, keyIdOf, log, printResult } from '@stella/platform';
import type { Command } from 'commander';
import type { VulnerableSymbols } from './engine/targets.ts';
import { SignalsErrors } from './errors.ts';
import { offlineIngestRuntime } from './offline/import.ts';
import { RUNTIME_PREDICATE } from './runtime/attest.ts';
import { pickSubject } from './runtime/subject.ts';

interface IngestFlags {
  offline?: boolean;
  graphHash: string;
  runtime: string;
  manifest?: string;
  dsse?: string;
  receipt?: string;
  scanId?: string;
  imageDigest?: string;
  component?: string;
  version?: string;
  tenant?: string;
}

function readTraceSymbols(path: string): string[] {
  let bytes = readFileSync(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  const symbols = new Set<string>();
  bytes
    .toString('utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      let event: { symbolId?: unknown };
      try {
        event = JSON.parse(line);
      } catch {
        throw new CliError(SignalsErrors.runtimeInvalid, `${path} line ${i + 1} is not valid JSON`);
      }
      if (typeof event.symbolId === 'string') symbols.add(event.symbolId);
    });
  return [...symbols].sort();
}

async function ingest(
  { io, globals, loadConfig, migrate }: CliCtx,
  flags: IngestFlags,
  offline: { advisories: VulnerableSymbols; force: boolean },
): Promise<void> {
  const opts = globals();
  const tenant = flags.tenant ?? opts.tenant;
  const subject = pickSubject(flags);
  if (offline.force || flags.offline) {
    if (!flags.manifest) throw new CliError(Errors.usage, '--manifest is required with --offline');
    const { config } = loadConfig();
    const receipt = await offlineIngestRuntime({
      config,
      tenant,
      graphHash: flags.graphHash,
      runtimePath: flags.runtime,
      manifestPath: flags.manifest,
      ...(flags.dsse ? { dssePath: flags.dsse } : {}),
      subject,
      ...(io.env.STELLA_SERVER ? { serverUrl: io.env.STELLA_SERVER } : {}),
      advisories: offline.advisories,
      migrate,
    });
    if (flags.receipt) writeFileSync(flags.receipt, `${JSON.stringify(receipt, null, 2)}\n`);
    printResult(
      io,
      opts,
      receipt,
      () =>
        `ingest ${receipt.ingestId} ${receipt.status}${receipt.duplicate ? ' (duplicate)' : ''}: ${receipt.events} events, ` +
        `graph ${receipt.graphHash}, CAS ${receipt.casDigest}, tenant ${receipt.tenant}, staleness ${receipt.staleness_seconds} s; receipt ${receipt.receiptUri}`,
    );
    return;
  }
  const api = createApiClient(io, { ...opts, tenant });
  const data = readFileSync(flags.runtime);
  const response = await api.request('POST', '/api/v1/runtime-facts', {
    scope: 'signals:write',
    query: { graph_hash: flags.graphHash, ...subject },
    rawBody: { contentType: 'application/x-ndjson', data },
  });
  const result = (await response.json()) as Record<string, unknown>;
  printResult(
    io,
    opts,
    result,
    () => `ingest ${result.ingestId} ${result.status}: subject ${result.subjectKey}, CAS ${result.casUri}`,
  );
}

const ingestOptions = (cmd: Command) =>
  cmd
    .requiredOption('--graph-hash <sha256>', 'graph hash the trace belongs to')
    .requiredOption('--runtime <file>', 'runtime trace NDJSON (.gz accepted)')
    .option('--manifest <file>', 'bundle manifest.json with the sha256 of every file (offline)')
    .option('--dsse <file>', 'DSSE bundle over the trace, verified against signals.trustRootsPath (offline)')
    .option('--receipt <file>', 'also write the ingest receipt to this file')
    .option('--scan-id <id>', 'subject: scan id')
    .option('--image-digest <digest>', 'subject: image digest')
    .option('--component <name>', 'subject: component (with --version)')
    .option('--version <version>', 'subject: component version')
    .option('--tenant <id>', 'tenant (defaults to the global --tenant)');

/** `<parent> ingest-runtime`, always offline: `stella signals-offline ingest-runtime` and the `signals-offline` binary. */
export function addOfflineIngestCommand(parent: Command, cli: CliCtx, advisories: VulnerableSymbols): Command {
  return ingestOptions(
    parent
      .command('ingest-runtime')
      .description('Verify a runtime bundle (manifest, DSSE, time anchor) and import it locally'),
  ).action((flags: IngestFlags) => ingest(cli, flags, { advisories, force: true }));
}

interface GraphVerifyFlags {
  runtime: string;
  graph: string;
  minRatio: string;
}

/** `stella graph verify`: how much of a trace maps onto a stored graph; exit 3 under --min-ratio. */
async function verifyGraph({ io, globals }: CliCtx, flags: GraphVerifyFlags): Promise<void> {
  const opts = globals();
  const symbols = readTraceSymbols(flags.runtime);
  const result = await createApiClient(io, opts).json<{
    symbols: number;
    mapped: number;
    unmapped: number;
    ratio: number;
    graphHash: string;
    unmappedSample: string[];
  }>('POST', `/signals/callgraphs/${encodeURIComponent(flags.graph)}/coverage`, {
    scope: 'signals:read',
    body: { symbols },
  });
  printResult(
    io,
    opts,
    result,
    () =>
      `${result.mapped} of ${result.symbols} runtime symbols map onto graph ${result.graphHash} (${(result.ratio * 100).toFixed(1)}%)` +
      (result.unmapped ? `; unmapped e.g. ${result.unmappedSample.slice(0, 5).join(', ')}` : ''),
  );
  if (result.ratio < Number(flags.minRatio)) {
    throw new CliError(
      SignalsErrors.coverageBelowMinimum,
      `only ${(result.ratio * 100).toFixed(1)}% of runtime symbols map (--min-ratio ${flags.minRatio})`,
    );
  }
}

interface AttestFlags {
  bundle: string;
  runtime: string;
  graphHash?: string;
  key?: string;
}

/** `stella attest runtime`: a DSSE over the trace, by the server's tenant key or a local --key. */
async function attestRuntimeTrace({ io, globals }: CliCtx, flags: AttestFlags): Promise<void> {
  const opts = globals();
  const sha256 = createHash('sha256').update(readFileSync(flags.runtime)).digest('hex');
  let envelope: unknown;
  if (flags.key) {
    const privateKey = createPrivateKey(readFileSync(flags.key, 'utf8'));
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: basename(flags.runtime), digest: { sha256 } }],
      predicateType: RUNTIME_PREDICATE,
      predicate: { tenant: opts.tenant, ...(flags.graphHash ? { graphHash: flags.graphHash } : {}) },
    };
    envelope = dsseSign('application/vnd.in-toto+json', Buffer.from(canonicalJson(statement), 'utf8'), [
      { keyid: keyIdOf(createPublicKey(privateKey)), privateKey },
    ]);
  } else {
    envelope = await createApiClient(io, opts).json('POST', '/signals/attest/runtime', {
      scope: 'signals:write',
      body: { name: basename(flags.runtime), sha256, ...(flags.graphHash ? { graphHash: flags.graphHash } : {}) },
    });
  }
  writeFileSync(flags.bundle, `${JSON.stringify(envelope, null, 2)}\n`);
  log(io, opts, `signed sha256:${sha256}`);
  printResult(
    io,
    opts,
    { bundle: flags.bundle, sha256: `sha256:${sha256}` },
    () => `wrote ${flags.bundle} over sha256:${sha256}`,
  );
}

/** The room's verbs; `advisories` serves the default targets of the offline ingest's recompute. */
export function registerSignalsCommands(program: Command, cli: CliCtx, advisories: VulnerableSymbols): void {
  const signals = program.command('signals').description('Callgraphs, runtime facts and reachability');
  ingestOptions(
    signals
      .command('ingest-runtime')
      .description('Ingest a runtime trace: over HTTP, or with --offline into the local database and CAS (air gap)')
      .option('--offline', 'verify the bundle and import locally without a server'),
  ).action((flags: IngestFlags) => ingest(cli, flags, { advisories, force: false }));

  const offline = program
    .command('signals-offline')
    .description('Air-gap runtime ingest (alias of `signals ingest-runtime --offline`)');
  addOfflineIngestCommand(offline, cli, advisories);

  const graph = program.command('graph').description('Callgraph tools');
  graph
    .command('verify')
    .description('Report how many runtime symbols of a trace map onto the nodes of a stored graph')
    .requiredOption('--runtime <file>', 'runtime trace NDJSON (.gz accepted)')
    .requiredOption('--graph <hash|id>', 'graph hash (sha256:…) or callgraph id')
    .option('--min-ratio <ratio>', 'exit 3 when fewer than this share of symbols map (0..1)', '0')
    .action((flags: GraphVerifyFlags) => verifyGraph(cli, flags));

  const attest = program.command('attest').description('Attestations');
  attest
    .command('runtime')
    .description('Sign a runtime trace as a DSSE in-toto statement (server key, or --key for a local PEM key)')
    .requiredOption('--bundle <file>', 'where to write the DSSE bundle (runtime.dsse.json)')
    .option('--runtime <file>', 'the runtime trace to sign', 'runtime-trace.ndjson.gz')
    .option('--graph-hash <sha256>', 'graph hash recorded in the predicate')
    .option('--key <pem>', 'sign offline with this PKCS#8 private key instead of the tenant key on the server')
    .action((flags: AttestFlags) => attestRuntimeTrace(cli, flags));
}
