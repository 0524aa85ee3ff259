// SPDX-License-Identifier: Apache-2.0
// `stella sources ingest` and `stella aoc verify` (spec §3.5). Ingest reads locally through the
// same connectors and guard the server uses: --dry-run stops there and writes nothing; otherwise
// the guarded documents go to the server as NDJSON batches of envelopes carrying the exact bytes.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { lookupError, parseJsonWithLimits, StellaError, systemClock } from '@stella/core';
import {
  type CliCtx,
  CliError,
  type CliIo,
  type Config,
  createApiClient,
  createMetricsRegistry,
  type GlobalOptions,
  loadConfig,
  printResult,
} from '@stella/platform';
import type { Command } from 'commander';
import {
  CONNECTOR_KINDS,
  type ConnectorKind,
  connectorFor,
  detectConnector,
  type FetchLimits,
} from '../connectors/index.ts';
import { AocErrors } from '../errors.ts';
import type { DocumentKind } from '../formats/types.ts';
import { documentFromEnvelope, type IngestDocument } from '../ingest/document.ts';
import { type DocumentLimits, documentLimitsOf } from '../ingest/limits.ts';
import { prepareDocument } from '../ingest/prepare.ts';
import { createAocMetrics } from '../metrics.ts';
import { type Rejected, STELLA_VERSION } from '../service.ts';
import { createSignatureChecker } from '../signatures/checker.ts';
import { fetchDocuments } from '../sources/fetch.ts';
import { documentFromFetched } from '../sources/runner.ts';
import type { VerifyReport } from '../verify/run.ts';

const MiB = 1024 * 1024;
/** Exit code of `stella aoc verify` when the result was truncated or partial. */
const EXIT_TRUNCATED = 18;

interface IngestFlags {
  source: string;
  input: string;
  dryRun?: boolean;
  kind: DocumentKind | 'auto';
  connector?: ConnectorKind;
  format?: 'json' | 'table';
  output?: string;
  batch: string;
  documentBytes?: string;
}

/** A single file as the runbook describes: gzip and base64 are unwrapped; an envelope file is kept as one. */
function singleFileDocument(
  path: string,
  vendor: string,
  kind: DocumentKind | 'auto',
  maxBytes: number,
  limits: DocumentLimits,
): IngestDocument {
  // A gzip bomb stops at the document cap instead of filling memory.
  const gunzip = (b: Buffer) => {
    if (b[0] !== 0x1f || b[1] !== 0x8b) return b;
    try {
      return gunzipSync(b, { maxOutputLength: maxBytes + 1 });
    } catch (error) {
      const tooLarge = (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
      throw new StellaError(
        tooLarge ? AocErrors.documentTooLarge : AocErrors.malformedDocument,
        tooLarge
          ? `${path}: expands beyond ${maxBytes} bytes (--document-bytes)`
          : `${path}: gzip cannot be decompressed: ${(error as Error).message}`,
      );
    }
  };
  let bytes = gunzip(readFileSync(path));
  const text = bytes.toString('latin1').trim();
  if (text && !text.startsWith('{') && !text.startsWith('[') && /^[A-Za-z0-9+/=\r\n]+$/.test(text)) {
    bytes = gunzip(Buffer.from(text, 'base64'));
  }
  // Only to tell an envelope from a document: a file over the JSON caps is not read as an envelope, and
  // the guard then refuses it as a document with the cap's code.
  let parsed: unknown;
  try {
    parsed = parseJsonWithLimits(bytes.toString('utf8'), {
      ...limits.json,
      maxStringLength: Math.max(limits.json.maxStringLength, Math.ceil((maxBytes * 4) / 3) + 4),
    });
  } catch {
    parsed = undefined;
  }
  if (isEnvelope(parsed)) {
    const doc = documentFromEnvelope(parsed, kind, path);
    const source = (doc.proposal.source ?? {}) as Record<string, unknown>;
    return { ...doc, proposal: { ...doc.proposal, source: { vendor, ...source } } };
  }
  return {
    bytes,
    proposal: { source: { vendor, connector: 'cli', version: STELLA_VERSION } },
    kind,
    location: path,
  };
}

function isEnvelope(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { content?: unknown }).content === 'object' &&
    (value as { content: object | null }).content !== null &&
    'raw' in ((value as { content: object }).content ?? {})
  );
}

async function* localDocuments(
  flags: IngestFlags,
  io: CliIo,
  limits: { fetch: FetchLimits; document: DocumentLimits },
  onReject: (rejected: Rejected) => void,
): AsyncGenerator<IngestDocument> {
  const kind = flags.connector ?? detectConnector(flags.input);
  if (kind === 'directory') {
    let isFile: boolean;
    try {
      isFile = statSync(flags.input).isFile();
    } catch (error) {
      throw new StellaError(AocErrors.connectorInput, `${flags.input}: ${(error as Error).message}`);
    }
    if (isFile) {
      yield singleFileDocument(flags.input, flags.source, flags.kind, limits.fetch.documentBytes, limits.document);
      return;
    }
  }
  const connector = connectorFor(kind);
  const documents = fetchDocuments(
    connector,
    {
      input: flags.input,
      now: systemClock.now,
      limits: limits.fetch,
      onSkip: (s) => io.stderr.write(`skipped ${s.location}: ${s.reason}\n`),
    },
    (location, error) =>
      onReject({
        ok: false,
        error,
        violations: [{ code: error.code, path: '', message: error.message }],
        vendor: flags.source,
        location,
      }),
  );
  for await (const fetched of documents) {
    yield documentFromFetched(fetched, flags.source, connector.name, flags.kind);
  }
}

function cliLimits(config: Config, flags: IngestFlags): { fetch: FetchLimits; document: DocumentLimits } {
  const documentBytes = flags.documentBytes === undefined ? config.limits.documentBytes : Number(flags.documentBytes);
  if (!Number.isSafeInteger(documentBytes) || documentBytes < 1) {
    throw new CliError('--document-bytes must be a positive integer', 2, 'ERR_USAGE');
  }
  return {
    fetch: {
      documentBytes,
      decompressedBytes: config.limits.decompressedBytes,
      archiveEntries: config.limits.archiveEntries,
    },
    document: documentLimitsOf(config.limits),
  };
}

function violationLines(rejected: readonly Rejected[]): string[] {
  return rejected.flatMap((r) =>
    r.violations.map((v) => `${v.code}  ${r.location ?? '-'}  ${v.path || '/'}  ${v.message}`),
  );
}

function firstExit(rejected: readonly Rejected[]): number {
  const first = rejected[0];
  return first ? first.error.exit : 0;
}

function progress(io: CliIo, opts: GlobalOptions, label: string) {
  const tty = (io.stderr as NodeJS.WriteStream).isTTY === true;
  const enabled = !opts.quiet && !opts.json;
  let last = 0;
  return (text: string, force = false) => {
    if (!enabled) return;
    const now = Date.now();
    if (!force && now - last < 250) return;
    last = now;
    io.stderr.write(tty ? `\r${label}: ${text}\u001b[K` : force ? `${label}: ${text}\n` : '');
  };
}

export function registerAocCommands(program: Command, { io, globals }: CliCtx): void {
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
    .action(async (flags: IngestFlags) => {
      const opts = globals();
      const json = opts.json || flags.format === 'json';
      const tenant = opts.tenant;
      const show = progress(io, opts, flags.dryRun ? 'guarded' : 'ingested');
      // The same caps the server applies (stella.yaml and STELLA_LIMITS_*): archive entries and expansion
      // while reading, JSON depth, members, strings and identifiers before the guard.
      const limits = cliLimits(
        loadConfig({ env: io.env, ...(opts.config ? { file: opts.config } : {}) }).config,
        flags,
      );
      const prepareOptions = {
        tenant,
        guardEnabled: true,
        documentBytes: limits.fetch.documentBytes,
        limits: limits.document,
        defaults: { connector: 'cli', version: STELLA_VERSION },
        clock: systemClock,
        checkSignature: createSignatureChecker({}),
        metrics: createAocMetrics(createMetricsRegistry({ defaultMetrics: false }), false),
      };
      const rejected: Rejected[] = [];
      const client = flags.dryRun ? undefined : createApiClient(io, opts);
      const pending: Record<DocumentKind, Array<{ doc: IngestDocument; bytes: number }>> = { advisory: [], vex: [] };
      let seen = 0;
      let written = 0;
      let noop = 0;
      const envelopeLine = (doc: IngestDocument) =>
        JSON.stringify({
          ...doc.proposal,
          content: { raw: Buffer.from(doc.bytes).toString('base64'), encoding: 'base64' },
          ...(doc.signature
            ? {
                upstream: {
                  ...((doc.proposal.upstream as object | undefined) ?? {}),
                  signature: { format: doc.signature.format, sig: Buffer.from(doc.signature.bytes).toString('base64') },
                },
              }
            : {}),
        });
      // Batches are all or nothing on the server. Documents only the server can judge (signatures
      // under its source keys) come back as violations with their line: record them, resend the rest.
      const send = async (kind: DocumentKind, items = pending[kind]): Promise<void> => {
        if (!client || items.length === 0) return;
        if (items === pending[kind]) pending[kind] = [];
        try {
          const result = await client.json<{ written: number; noop: number }>('POST', `/ingest/${kind}/batch`, {
            scope: `${kind}:ingest`,
            rawBody: {
              contentType: 'application/x-ndjson',
              data: `${items.map(({ doc }) => envelopeLine(doc)).join('\n')}\n`,
            },
          });
          written += result.written;
          noop += result.noop;
        } catch (error) {
          const violations = (error as CliError).problem?.violations as
            | Array<{ code: string; path: string; message: string; location?: string }>
            | undefined;
          const lines = new Set(
            (violations ?? []).map((v) => Number(/^line (\d+)$/.exec(v.location ?? '')?.[1])).filter((n) => n > 0),
          );
          if (!(error instanceof CliError) || lines.size === 0) throw error;
          const keep: typeof items = [];
          for (const [i, item] of items.entries()) {
            if (!lines.has(i + 1)) {
              keep.push(item);
              continue;
            }
            const mine = violations!.filter((v) => v.location === `line ${i + 1}`).map(({ location: _l, ...v }) => v);
            const def = lookupError(mine[0]!.code);
            rejected.push({
              ok: false,
              error: new StellaError(def ?? AocErrors.malformedDocument, mine[0]!.message, {
                details: { violations: mine },
              }),
              violations: mine,
              vendor: flags.source,
              location: item.doc.location,
            });
          }
          if (keep.length === items.length) throw error;
          await send(kind, keep);
        }
      };
      const unreadable = (r: Rejected) => {
        seen++;
        rejected.push(r);
      };
      for await (const doc of localDocuments(flags, io, limits, unreadable)) {
        seen++;
        const p = await prepareDocument(doc, prepareOptions);
        if (!p.ok) {
          rejected.push(p);
        } else if (client) {
          const kind: DocumentKind = p.doc.store === 'vex_raw' ? 'vex' : 'advisory';
          pending[kind].push({ doc, bytes: doc.bytes.length });
          const size = pending[kind].reduce((n, i) => n + i.bytes, 0);
          if (pending[kind].length >= Number(flags.batch) || size > 4 * MiB) await send(kind);
        }
        show(`${seen} documents, ${rejected.length} rejected`);
      }
      await send('advisory');
      await send('vex');
      show(`${seen} documents, ${rejected.length} rejected`, true);
      const report = {
        source: flags.source,
        input: flags.input,
        dryRun: flags.dryRun === true,
        documents: seen,
        ...(flags.dryRun ? { valid: seen - rejected.length } : { written, noop }),
        rejected: rejected.map((r) => ({ location: r.location ?? null, code: r.error.code, violations: r.violations })),
      };
      if (flags.output) writeFileSync(flags.output, `${JSON.stringify(report, null, 2)}\n`);
      printResult(io, { ...opts, json }, report, () =>
        [
          ...violationLines(rejected),
          flags.dryRun
            ? `${seen} documents checked, ${seen - rejected.length} valid, ${rejected.length} rejected (nothing written: --dry-run)`
            : `${seen} documents: ${written} written, ${noop} unchanged, ${rejected.length} rejected`,
        ].join('\n'),
      );
      if (rejected.length > 0) {
        throw new CliError(
          `${rejected.length} document(s) rejected; first: ${rejected[0]!.error.message}`,
          firstExit(rejected),
          rejected[0]!.error.code,
        );
      }
    });

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
    .action(
      async (flags: {
        since: string;
        until?: string;
        sources?: string;
        codes?: string;
        limit: string;
        format?: string;
        export?: string;
      }) => {
        const opts = globals();
        const json = opts.json || flags.format === 'json';
        const client = createApiClient(io, opts, { credentialsClient: 'stella-aoc-verify' });
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
          throw new CliError(
            `AOC verification failed: ${first.code} ${first.message}`,
            lookupError(first.code)?.exit ?? 1,
            first.code,
          );
        }
        if (report.truncated) {
          throw new CliError(
            'AOC verification truncated: raise --limit or narrow --since/--sources',
            EXIT_TRUNCATED,
            'ERR_AOC_VERIFY_TRUNCATED',
          );
        }
      },
    );
}
