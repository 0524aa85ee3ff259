// SPDX-License-Identifier: Apache-2.0
// `stella sources ingest` (spec §3.5): documents are read locally through the same connectors and
// guard the server uses; --dry-run stops there and writes nothing; otherwise the guarded documents go
// to the server as NDJSON batches of envelopes carrying the exact bytes.
import { writeFileSync } from 'node:fs';
import { lookupError, STELLA_VERSION, StellaError, systemClock } from '@stella/core';
import {
  type ApiClient,
  type CliCtx,
  CliError,
  type CliIo,
  createApiClient,
  createMetricsRegistry,
  type GlobalOptions,
  printResult,
} from '@stella/platform';
import { AocErrors } from '../errors.ts';
import type { DocumentKind } from '../formats/types.ts';
import type { IngestDocument } from '../ingest/document.ts';
import { type PrepareOptions, prepareDocument } from '../ingest/prepare.ts';
import type { Rejected } from '../ingest/rejection.ts';
import { createAocMetrics } from '../metrics.ts';
import { createSignatureChecker } from '../signatures/checker.ts';
import { cliLimits, type IngestFlags, localDocuments } from './local.ts';

const MiB = 1024 * 1024;

type Pending = Array<{ doc: IngestDocument; bytes: number }>;

/** The envelope line a document travels in: the exact bytes as base64, its signature alongside. */
function envelopeLine(doc: IngestDocument): string {
  return JSON.stringify({
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
}

/** The refusals of a batch the server judged line by line, each with its line; none when it did not. */
function lineViolations(error: unknown) {
  const violations = (error as CliError).problem?.violations as
    | Array<{ code: string; path: string; message: string; location?: string }>
    | undefined;
  const lines = new Set(
    (violations ?? []).map((v) => Number(/^line (\d+)$/.exec(v.location ?? '')?.[1])).filter((n) => n > 0),
  );
  return { violations: violations ?? [], lines };
}

/**
 * Sends the pending documents of each kind. Batches are all or nothing on the server. Documents only
 * the server can judge (signatures under its source keys) come back as violations with their line:
 * record them, resend the rest.
 */
function createSender(client: ApiClient | undefined, vendor: string, rejected: Rejected[]) {
  const pending: Record<DocumentKind, Pending> = { advisory: [], vex: [] };
  const totals = { written: 0, noop: 0 };
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
      totals.written += result.written;
      totals.noop += result.noop;
    } catch (error) {
      const { violations, lines } = lineViolations(error);
      if (!(error instanceof CliError) || lines.size === 0) throw error;
      const keep: Pending = [];
      for (const [i, item] of items.entries()) {
        if (!lines.has(i + 1)) {
          keep.push(item);
          continue;
        }
        const mine = violations.filter((v) => v.location === `line ${i + 1}`).map(({ location: _l, ...v }) => v);
        const def = lookupError(mine[0]!.code);
        rejected.push({
          ok: false,
          error: new StellaError(def ?? AocErrors.malformedDocument, mine[0]!.message, {
            details: { violations: mine },
          }),
          violations: mine,
          vendor,
          location: item.doc.location,
        });
      }
      if (keep.length === items.length) throw error;
      await send(kind, keep);
    }
  };
  return {
    totals,
    /** Queues a guarded document and sends its kind's batch when it is full. */
    async add(kind: DocumentKind, doc: IngestDocument, batchSize: number): Promise<void> {
      pending[kind].push({ doc, bytes: doc.bytes.length });
      const size = pending[kind].reduce((n, i) => n + i.bytes, 0);
      if (pending[kind].length >= batchSize || size > 4 * MiB) await send(kind);
    },
    async drain(): Promise<void> {
      await send('advisory');
      await send('vex');
    },
  };
}

function violationLines(rejected: readonly Rejected[]): string[] {
  return rejected.flatMap((r) =>
    r.violations.map((v) => `${v.code}  ${r.location ?? '-'}  ${v.path || '/'}  ${v.message}`),
  );
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

/** The guard as the server runs it, with the caps of this machine's configuration and no source keys. */
function localPrepareOptions(tenant: string, limits: ReturnType<typeof cliLimits>): PrepareOptions {
  return {
    tenant,
    guardEnabled: true,
    documentBytes: limits.fetch.documentBytes,
    limits: limits.document,
    defaults: { connector: 'cli', version: STELLA_VERSION },
    clock: systemClock,
    checkSignature: createSignatureChecker({}),
    metrics: createAocMetrics(createMetricsRegistry({ defaultMetrics: false }), false),
  };
}

export async function ingestCommand(flags: IngestFlags, { io, globals, loadConfig }: CliCtx): Promise<void> {
  const opts = globals();
  const json = opts.json || flags.format === 'json';
  const show = progress(io, opts, flags.dryRun ? 'guarded' : 'ingested');
  // The same caps the server applies (stella.yaml and STELLA_LIMITS_*): archive entries and expansion
  // while reading, JSON depth, members, strings and identifiers before the guard.
  const limits = cliLimits(loadConfig().config, flags);
  const prepareOptions = localPrepareOptions(opts.tenant, limits);
  const rejected: Rejected[] = [];
  const client = flags.dryRun ? undefined : createApiClient(io, opts);
  const sender = createSender(client, flags.source, rejected);
  let seen = 0;
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
      await sender.add(p.doc.store === 'vex_raw' ? 'vex' : 'advisory', doc, Number(flags.batch));
    }
    show(`${seen} documents, ${rejected.length} rejected`);
  }
  await sender.drain();
  show(`${seen} documents, ${rejected.length} rejected`, true);
  const { written, noop } = sender.totals;
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
    throw CliError.relayed(
      rejected[0]!.error.code,
      AocErrors.malformedDocument,
      `${rejected.length} document(s) rejected; first: ${rejected[0]!.error.message}`,
    );
  }
}
