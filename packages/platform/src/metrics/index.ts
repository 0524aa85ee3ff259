// One Prometheus registry per process, shared by every room; served at GET /metrics (scope
// metrics:read) and, when metrics.port is set, on a separate unauthenticated listener.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export type { Registry } from 'prom-client';
export type { MetricsListener, MetricsListenerOptions } from './listener.ts';
export { startMetricsListener } from './listener.ts';

/** The label value every value outside a bounded label's set is reported as. */
export const OTHER_LABEL = 'other';

export interface LabelBoundOptions {
  /** Values always kept (configured sources, a fixed vocabulary). */
  known?: Iterable<string>;
  /**
   * Further distinct values kept first come, first served; 0 when only `known` values may appear.
   * Each kept value multiplies the series of every metric using the label, so keep it small.
   */
  maxOthers?: number;
}

/**
 * Bounds a label fed from requests (a header, a tenant-chosen name): without it every distinct value
 * a caller sends becomes new series held for the life of the process. Values outside the bound are
 * reported as `other`.
 */
export function labelBound(options: LabelBoundOptions = {}): (value: string) => string {
  const known = new Set(options.known ?? []);
  const maxOthers = options.maxOthers ?? 0;
  const seen = new Set<string>();
  return (value) => {
    if (known.has(value) || seen.has(value)) return value;
    if (seen.size < maxOthers) {
      seen.add(value);
      return value;
    }
    return OTHER_LABEL;
  };
}

export function createMetricsRegistry(options: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'stella_' });
  return registry;
}

/** Gets a metric already registered under that name, or registers it: rooms may ask twice. */
export function counter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[] = [],
) {
  return (
    (registry.getSingleMetric(name) as Counter<L> | undefined) ??
    new Counter<L>({ name, help, labelNames, registers: [registry] })
  );
}

export function histogram<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[] = [],
  buckets?: number[],
) {
  return (
    (registry.getSingleMetric(name) as Histogram<L> | undefined) ??
    new Histogram<L>({ name, help, labelNames, registers: [registry], ...(buckets ? { buckets } : {}) })
  );
}

/** `collect` runs at scrape time, for gauges read from elsewhere (queue depth, ...). */
export function gauge<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[] = [],
  collect?: (this: Gauge<L>) => Promise<void> | void,
) {
  return (
    (registry.getSingleMetric(name) as Gauge<L> | undefined) ??
    new Gauge<L>({ name, help, labelNames, registers: [registry], ...(collect ? { collect } : {}) })
  );
}
