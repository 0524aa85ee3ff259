// CAS maintenance across tenants: the one-time move of objects from the shared layout
// (`<namespace>/<hh>/<hex>`) to the tenant layout (`tenants/<tenant>/<namespace>/<hh>/<hex>`), and the
// collector of objects nothing references any more. Both work from the references the rooms declare
// (Module.blobReferences): the tenant's rows are read inside the tenant's transaction, so row-level
// security still decides what a tenant references.
//
// The move is resumable and safe to run from several processes at once: it copies (verified against
// the digest) every referenced object that the tenant layout lacks, and only once every reference of
// every tenant has its copy does it remove the shared layout's objects; a process killed at any point
// leaves each reference readable from one layout or the other, and the next start finishes the move.
import type { Clock } from '@stella/core';
import type { Db, Queryable } from '../db/index.ts';
import type { Logger } from '../http/logger.ts';
import { counter, gauge, type Registry } from '../metrics/index.ts';
import type { BlobStore } from './port.ts';
import { logicalUri, tenantNamespace, tenantUri } from './tenant.ts';
import { parseCasUri } from './uri.ts';

/** What a room's rows reference in the CAS. */
export interface BlobReferences {
  /**
   * The namespaces the room writes. The collector removes an object in them that no reference (of any
   * room, or of the tenant's timeline) names once it is older than the grace period.
   */
  namespaces: readonly string[];
  /** The logical `cas://` URIs the tenant's rows hold; runs inside the tenant's transaction. */
  uris(q: Queryable): Promise<Iterable<string>>;
}

export interface CasMaintenanceDeps {
  db: Db;
  /** The physical store (not a tenant view). */
  store: BlobStore;
  sources: readonly BlobReferences[];
  logger: Pick<Logger, 'info' | 'warn'>;
  clock: Clock;
  metrics?: Registry;
}

export interface LayoutReport {
  /** False when an earlier run had already completed the move. */
  ran: boolean;
  copied: number;
  /** References whose object was in neither layout (lost before the move; nothing to copy). */
  missing: number;
  /** Objects of the shared layout removed after the copies. */
  removed: number;
}

export interface CollectReport {
  tenants: number;
  /** Objects looked at in the tenants' namespaces. */
  scanned: number;
  deleted: number;
  deletedBytes: number;
  /** Unreferenced objects spared because they are younger than the grace period. */
  young: number;
}

const LAYOUT_VERSION = 1;
const PROGRESS_EVERY = 1000;
// Every `cas://` URI in an event's details: receipts and other evidence the timeline points at.
const CAS_URI_PATTERN = 'cas://[a-z0-9][a-z0-9._/-]*/[0-9a-f]{64}';

export function createCasMaintenance(deps: CasMaintenanceDeps) {
  const { db, store, logger } = deps;
  const metrics = deps.metrics && {
    deleted: counter(deps.metrics, 'stella_cas_gc_deleted_total', 'CAS objects removed by the collector'),
    deletedBytes: counter(deps.metrics, 'stella_cas_gc_deleted_bytes_total', 'Bytes of CAS objects removed'),
    lastRun: gauge(
      deps.metrics,
      'stella_cas_gc_last_run_timestamp_seconds',
      'When the collector of unreferenced CAS objects last finished (Unix seconds)',
    ),
  };
  const namespaces = [...new Set(deps.sources.flatMap((s) => s.namespaces))].sort();

  async function tenants(): Promise<string[]> {
    const { rows } = await db.query<{ tenant: string }>('select tenant from cas_tenants order by tenant');
    return rows.map((r) => r.tenant);
  }

  /** Every logical URI the tenant's rows and timeline events reference. */
  async function referenced(tenant: string): Promise<Set<string>> {
    return db.transaction(
      async (q) => {
        const uris = new Set<string>();
        for (const source of deps.sources) for (const uri of await source.uris(q)) uris.add(uri);
        const { rows } = await q.query<{ uri: string }>(
          `select distinct (regexp_matches(details::text, '${CAS_URI_PATTERN}', 'g'))[1] as uri
             from timeline_events where details::text like '%cas://%'`,
        );
        for (const row of rows) uris.add(row.uri);
        return uris;
      },
      { tenant },
    );
  }

  async function layoutDone(): Promise<boolean> {
    const { rows } = await db.query('select 1 from cas_layout where version = $1', [LAYOUT_VERSION]);
    return rows.length > 0;
  }

  async function migrateLayout(): Promise<LayoutReport> {
    if (await layoutDone()) return { ran: false, copied: 0, missing: 0, removed: 0 };
    const report: LayoutReport = { ran: true, copied: 0, missing: 0, removed: 0 };
    // Called after each copy or removal, so each thousandth is logged once.
    const progress = () => {
      if ((report.copied + report.removed) % PROGRESS_EVERY === 0) {
        logger.info({ ...report }, 'moving CAS objects to the tenant layout');
      }
    };
    for (const tenant of await tenants()) {
      for (const uri of await referenced(tenant)) {
        const target = tenantUri(tenant, uri);
        if (await store.head(target)) continue;
        if (!(await store.head(uri))) {
          report.missing++;
          logger.warn({ tenant, uri }, 'a CAS reference has no object in either layout; nothing to move');
          continue;
        }
        const { namespace, digest } = parseCasUri(uri);
        // get() verifies the bytes at rest and put() checks them against the digest again.
        await store.put(tenantNamespace(tenant, namespace), await store.get(uri), { expectedDigest: digest });
        report.copied++;
        progress();
      }
    }
    for (const namespace of namespaces) {
      for await (const uri of store.list(namespace)) {
        if (await store.delete(uri)) {
          report.removed++;
          progress();
        }
      }
    }
    await db.query(
      `insert into cas_layout (version, copied, missing, removed) values ($1, $2, $3, $4)
       on conflict (version) do nothing`,
      [LAYOUT_VERSION, report.copied, report.missing, report.removed],
    );
    logger.info({ ...report }, 'CAS objects are in the tenant layout');
    return report;
  }

  async function collect(graceSeconds: number): Promise<CollectReport> {
    const report: CollectReport = { tenants: 0, scanned: 0, deleted: 0, deletedBytes: 0, young: 0 };
    // Before the move, the tenant layout is incomplete; start-up finishes it first.
    if (!(await layoutDone())) return report;
    const cutoff = deps.clock.now().getTime() - graceSeconds * 1000;
    for (const tenant of await tenants()) {
      report.tenants++;
      const uris = await referenced(tenant);
      for (const namespace of namespaces) {
        for await (const physical of store.list(tenantNamespace(tenant, namespace))) {
          report.scanned++;
          if (uris.has(logicalUri(tenant, physical))) continue;
          const head = await store.head(physical);
          if (!head) continue;
          if (head.modified.getTime() > cutoff) {
            report.young++;
            continue;
          }
          if (await store.delete(physical)) {
            report.deleted++;
            report.deletedBytes += head.size;
          }
        }
      }
    }
    metrics?.deleted.inc(report.deleted);
    metrics?.deletedBytes.inc(report.deletedBytes);
    metrics?.lastRun.set(deps.clock.now().getTime() / 1000);
    logger.info({ ...report, graceSeconds }, 'CAS collection finished');
    return report;
  }

  return { migrateLayout, collect, tenants };
}

export type CasMaintenance = ReturnType<typeof createCasMaintenance>;
