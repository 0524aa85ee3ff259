// SPDX-License-Identifier: Apache-2.0
// The only writer of advisory_raw and vex_raw: prepared documents become revisions of their chains
// (or no-ops), in one transaction with the timeline events that witness them.
import { StellaError } from '@stella/core';
import type { Db, Queryable, Timeline, Tx } from '@stella/platform';
import { AocErrors } from '../errors.ts';
import type { AocMetrics } from '../metrics.ts';
import { type Chain, identityKey, insertRows, loadChains, type RawRow } from '../sql/raw.ts';
import { AOC_RAW_TOPIC } from '../topics.ts';
import { type AocEnvelope, type RawStore, recordId } from './envelope.ts';
import type { PreparedDocument } from './prepare.ts';

export interface WriteResult {
  /** The new row, or for a no-op the row that already holds this content. */
  id: string;
  store: RawStore;
  result: 'ok' | 'noop';
  /** For a no-op: false when the content is an earlier revision (an upstream revert; the head stays). */
  head: boolean;
  revision: number;
  supersedes: string | null;
  contentHash: string;
  location?: string | undefined;
}

export interface WriteDeps {
  db: Db;
  timeline: Timeline;
  metrics: AocMetrics;
}

export interface WriteContext {
  initiator: string;
  /** More work for the same transaction (a connector's cursor), so it commits with the rows. */
  inTransaction?: ((tx: Queryable) => Promise<void>) | undefined;
  /**
   * A commit that must come first (a connector's previous batch, in flight on another connection):
   * the rows go in while it is pending, but the timeline events, inTransaction and the commit wait
   * for it, so this transaction's cursor never commits before the earlier rows; if it fails, this
   * transaction rolls back with its error. Its documents must not share a chain with these: the
   * two transactions would otherwise wait on each other's index entries.
   */
  after?: Promise<unknown> | undefined;
}

const MAX_ATTEMPTS = 4;

/**
 * Writes prepared documents for one tenant in one transaction: a document whose hash equals its
 * chain head is a no-op; any other becomes the next revision, superseding the head. The timeline
 * event commits with the rows. Concurrent writers of the same chain collide on the chain index and
 * the transaction is retried.
 */
export async function writeDocuments(
  deps: WriteDeps,
  tenant: string,
  docs: readonly PreparedDocument[],
  context: WriteContext,
): Promise<WriteResult[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      const started = performance.now();
      const results = await deps.db.transaction(
        async (tx) => {
          const written = await writeInTx(tx, deps, tenant, docs, context);
          await context.inTransaction?.(tx);
          return written;
        },
        { tenant },
      );
      const seconds = (performance.now() - started) / 1000;
      const vendors = new Set<string>();
      for (const [i, r] of results.entries()) {
        const vendor = docs[i]!.envelope.source.vendor;
        vendors.add(vendor);
        deps.metrics.write(vendor, tenant, r.result);
        if (r.result === 'ok') deps.metrics.revisionCount(vendor, tenant, r.revision);
      }
      for (const vendor of vendors) deps.metrics.latency(vendor, tenant, 'write', seconds);
      return results;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt < MAX_ATTEMPTS && (code === '23505' || code === '40001')) continue;
      throw mapDatabaseError(error);
    }
  }
}

/** Each store's chains of the documents' identities, and the rows to insert into it. */
interface Placement {
  chains: Map<RawStore, Map<string, Chain>>;
  rows: Map<RawStore, RawRow[]>;
  /** No-ops whose content is an earlier revision: upstream went back to it. */
  reverts: WriteResult[];
}

async function loadPlacement(tx: Queryable, tenant: string, docs: readonly PreparedDocument[]): Promise<Placement> {
  const placement: Placement = { chains: new Map(), rows: new Map(), reverts: [] };
  for (const store of new Set(docs.map((d) => d.store))) {
    const identities = docs
      .filter((d) => d.store === store)
      .map((d) => ({ vendor: d.envelope.source.vendor, upstreamId: d.envelope.upstream.upstream_id }));
    placement.chains.set(store, await loadChains(tx, store, tenant, identities));
    placement.rows.set(store, []);
  }
  return placement;
}

/** A document's place in its chain: a no-op for content the chain holds, else the next revision. */
function place(placement: Placement, tenant: string, doc: PreparedDocument): WriteResult {
  const { store } = doc;
  const storeChains = placement.chains.get(store)!;
  const { vendor } = doc.envelope.source;
  const key = identityKey(vendor, doc.envelope.upstream.upstream_id);
  const chain = storeChains.get(key);
  const contentHash = doc.envelope.upstream.content_hash;
  const location = doc.location;
  const existing = chain?.byHash.get(contentHash);
  if (chain && existing) {
    // Spec §3.3: (tenant, vendor, upstream_id, content_hash) is the idempotency key, so a content
    // the chain already holds is a no-op even when it is not the head (an upstream revert).
    const result: WriteResult = {
      id: existing,
      store,
      result: 'noop',
      head: existing === chain.head.id,
      revision: chain.head.revision,
      supersedes: null,
      contentHash,
      location,
    };
    if (!result.head) placement.reverts.push({ ...result, supersedes: chain.head.id });
    return result;
  }
  const revision = (chain?.head.revision ?? 0) + 1;
  const id = recordId(store, vendor, doc.envelope.upstream.upstream_id, revision);
  const envelope: AocEnvelope = { ...doc.envelope, id, tenant, supersedes: chain?.head.id ?? null };
  placement.rows.get(store)!.push({ envelope, revision, raw: doc.raw, packages: doc.packages });
  const head = { id, revision, contentHash };
  if (chain) {
    chain.head = head;
    chain.byHash.set(contentHash, id);
  } else {
    storeChains.set(key, { head, byHash: new Map([[contentHash, id]]) });
  }
  return { id, store, result: 'ok', head: true, revision, supersedes: envelope.supersedes, contentHash, location };
}

async function writeInTx(
  tx: Tx,
  deps: WriteDeps,
  tenant: string,
  docs: readonly PreparedDocument[],
  context: WriteContext,
): Promise<WriteResult[]> {
  const placement = await loadPlacement(tx, tenant, docs);
  // One pass in input order, so several revisions of one document in a batch chain in that order.
  const results = docs.map((doc) => place(placement, tenant, doc));
  for (const [store, storeRows] of placement.rows) await insertRows(tx, store, storeRows);
  // The timeline head is locked by the first append until commit: waiting here, before it, keeps
  // the earlier batch (which may still append) from waiting on this transaction.
  await context.after;
  await witness(tx, deps.timeline, tenant, docs, results, placement.reverts, context.initiator);
  return results;
}

/** The timeline events committed with the rows: reverts observed, and every row written. */
async function witness(
  tx: Queryable,
  timeline: Timeline,
  tenant: string,
  docs: readonly PreparedDocument[],
  results: readonly WriteResult[],
  reverts: readonly WriteResult[],
  initiator: string,
): Promise<void> {
  if (reverts.length > 0) {
    // The upstream went back to content the chain already holds: no row (idempotency), but the
    // observation is on the record so an auditor sees that the head is no longer what upstream serves.
    await timeline.append(tx, tenant, {
      category: 'aoc',
      kind: 'aoc.raw.revert_observed',
      details: {
        initiator,
        documents: reverts
          .slice(0, 100)
          .map((r) => ({ matches: r.id, head: r.supersedes, content_hash: r.contentHash })),
        truncated: reverts.length > 100,
      },
    });
  }
  const written = results.filter((r) => r.result === 'ok');
  if (written.length > 0) {
    // For rooms that derive from the raw stores (findings recompute): what changed, not the documents.
    await timeline.publish(tx, tenant, AOC_RAW_TOPIC, {
      tenant,
      written: written.length,
      stores: [...new Set(written.map((r) => r.store))].sort(),
    });
    await timeline.append(tx, tenant, {
      category: 'aoc',
      kind: 'aoc.raw.ingested',
      details: {
        initiator,
        written: written.length,
        noop: results.length - written.length,
        // Every row, not a sample: `stella aoc verify` uses these events as the witness of what was
        // written through stella (rows without one were slipped in; ones missing were deleted).
        documents: results.flatMap((r, i) =>
          r.result === 'ok'
            ? [
                {
                  id: r.id,
                  vendor: docs[i]!.envelope.source.vendor,
                  content_hash: r.contentHash,
                  supersedes: r.supersedes,
                },
              ]
            : [],
        ),
      },
    });
  }
}

/** Database refusals name their constraint after the AOC code (see the raw-store migration). */
export function mapDatabaseError(error: unknown): unknown {
  const message = (error as Error)?.message ?? '';
  const constraint = (error as { constraint?: string })?.constraint ?? '';
  const match = /err_aoc_00([1-7])/i.exec(`${constraint} ${message}`);
  if (!match) return error;
  const code = `ERR_AOC_00${match[1]}`;
  const def = Object.values(AocErrors).find((d) => d.code === code) ?? AocErrors.idempotency;
  return new StellaError(def, `refused by the database: ${message}`, { cause: error });
}
