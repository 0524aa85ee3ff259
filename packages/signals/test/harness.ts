// A signals service on a real test database (PGlite or PostgreSQL), a real filesystem CAS and the
// real timeline, without HTTP: for tests of ingest, recompute and events below the routes.

import { aocModule, vulnerableSymbols } from '@stella/aoc';
import { type Clock, fixedClock } from '@stella/core';
import {
  type BlobStore,
  type Config,
  createFsBlobStore,
  createLogger,
  createMetricsRegistry,
  createSigningKeyStore,
  createTimeline,
  loadConfig,
  migrate,
  platformModule,
  type Registry,
  type TenantBlobs,
  type Timeline,
  tenantBlobs,
} from '@stella/platform';
import { scratchDir, type TestDb, testDb } from '@stella/testkit';
import { signalsConfig } from '../src/config.ts';
import { createSignals, type Signals, type SignalsDeps } from '../src/service.ts';

export const HARNESS_TENANT = 'acme';

export interface Harness {
  t: TestDb;
  signals: Signals;
  /** The CAS the services use, one view per tenant. */
  cas: TenantBlobs;
  /** The CAS as the tenant most tests act for (HARNESS_TENANT) sees it. */
  blobs: BlobStore;
  timeline: Timeline;
  metrics: Registry;
  config: Config;
  clock: Clock;
  close(): Promise<void>;
}

export async function startHarness(options: { env?: Record<string, string>; clock?: Clock } = {}): Promise<Harness> {
  const t = await testDb();
  await migrate(t.db, [
    { module: 'platform', migrations: platformModule.migrations! },
    { module: 'aoc', migrations: aocModule.migrations!, dependsOn: ['platform'] },
    { module: 'signals', migrations: new URL('../migrations/', import.meta.url), dependsOn: ['platform', 'aoc'] },
  ]);
  const home = scratchDir('stella-signals-');
  const { config } = loadConfig({ sections: [signalsConfig], env: { STELLA_HOME: home, ...(options.env ?? {}) } });
  const cas = tenantBlobs(createFsBlobStore({ root: `${home}/cas` }));
  const blobs = cas.forTenant(HARNESS_TENANT);
  const clock = options.clock ?? fixedClock('2026-01-02T03:04:05.000Z');
  const timeline = createTimeline(t.db, clock);
  const metrics = createMetricsRegistry({ defaultMetrics: false });
  const signals = createSignals({
    db: t.db,
    blobs: cas,
    timeline,
    signing: createSigningKeyStore(t.db),
    config: config.signals,
    clock,
    metrics,
    logger: createLogger({ level: 'silent' }),
    advisories: { vulnerableSymbols },
  });
  return { t, signals, cas, blobs, timeline, metrics, config, clock, close: () => t.close() };
}

/**
 * Another signals service on the harness's database and CAS, with caches of its own: as after a
 * restart, or a worker process beside the API. `advisories: false` builds it without them.
 */
export function secondService(h: Harness, options: { blobs?: BlobStore; advisories?: false } = {}): Signals {
  const { blobs } = options;
  const deps: SignalsDeps = {
    db: h.t.db,
    // `blobs` replaces HARNESS_TENANT's view (a test's wrapper around h.blobs); other tenants keep theirs.
    blobs: blobs ? { forTenant: (tenant) => (tenant === HARNESS_TENANT ? blobs : h.cas.forTenant(tenant)) } : h.cas,
    timeline: h.timeline,
    signing: createSigningKeyStore(h.t.db),
    config: h.config.signals,
    clock: h.clock,
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    logger: createLogger({ level: 'silent' }),
  };
  return createSignals(options.advisories === false ? deps : { ...deps, advisories: { vulnerableSymbols } });
}

/** `inner` with its put replaced and the rest passed through: for tests that hold or fail CAS writes. */
export function withPut(inner: BlobStore, put: BlobStore['put']): BlobStore {
  return {
    put,
    get: (uri) => inner.get(uri),
    getRange: (uri, start, end) => inner.getRange(uri, start, end),
    getBytes: (uri, maxBytes) => inner.getBytes(uri, maxBytes),
    head: (uri) => inner.head(uri),
    delete: (uri) => inner.delete(uri),
    list: (namespace) => inner.list(namespace),
  };
}

/**
 *   main ─► handler ─► parse ─► vulnSink
 *     │                  └───► helper
 *     └─► admin ┄┄(heuristic)┄┄► reflect
 *   orphanFn (no caller), deadFn ─► vulnSink2 (deadFn unreachable)
 */
export function sampleGraph(extra: { component?: string } = {}) {
  return {
    schema: 'stella.callgraph.v1',
    metadata: { language: 'Node', component: extra.component ?? 'web', version: '1.0.0' },
    nodes: [
      { id: 'app:main', name: 'main', kind: 'function' },
      { id: 'app:handler', name: 'handler', kind: 'function' },
      { id: 'lib:parse', name: 'parse', kind: 'function', purl: 'pkg:npm/lib@1.2.3' },
      { id: 'lib:vulnSink', name: 'vulnSink', kind: 'function', purl: 'pkg:npm/lib@1.2.3' },
      { id: 'lib:helper', name: 'helper', kind: 'function', purl: 'pkg:npm/lib@1.2.3' },
      { id: 'app:admin', name: 'admin', kind: 'function' },
      { id: 'app:reflect', name: 'reflect', kind: 'function' },
      { id: 'app:deadFn', name: 'deadFn', kind: 'function' },
      { id: 'lib:vulnSink2', name: 'vulnSink2', kind: 'function', purl: 'pkg:npm/lib@1.2.3' },
    ],
    edges: [
      { sourceId: 'app:main', targetId: 'app:handler', kind: 'static', weight: 1 },
      { sourceId: 'app:handler', targetId: 'lib:parse', kind: 'static', weight: 0.9 },
      { sourceId: 'lib:parse', targetId: 'lib:vulnSink', kind: 'static' },
      { sourceId: 'lib:parse', targetId: 'lib:helper', kind: 'static' },
      { sourceId: 'app:main', targetId: 'app:admin', kind: 'static' },
      { sourceId: 'app:admin', targetId: 'app:reflect', kind: 'heuristic', reason: 'reflectionString', weight: 0.3 },
      { sourceId: 'app:deadFn', targetId: 'lib:vulnSink2', kind: 'static' },
    ],
    entrypoints: [{ nodeId: 'app:main', kind: 'http', route: '/', order: 0 }],
  };
}
