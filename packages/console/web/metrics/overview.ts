// What the Overview charts plot, from successive /metrics scrapes: raw documents written per second
// (ingestion_write_total by result), jobs queued and active, and dead letters (stella_queue_jobs by
// state, summed over queues). Pure: the page feeds it scrapes, uPlot draws what comes out.
import type { MetricSample } from './prometheus.ts';

/** ingestion_write_total's results (packages/aoc/src/metrics.ts), in the order the chart lists them. */
export const WRITE_RESULTS = ['ok', 'noop', 'reject'] as const;
/** Scrapes kept: ten minutes at one scrape every five seconds. */
export const MAX_SAMPLES = 120;

export interface OverviewSample {
  /** Seconds since the epoch (uPlot's time axis unit). */
  at: number;
  writes: Readonly<Record<(typeof WRITE_RESULTS)[number], number>>;
  queued: number;
  active: number;
  deadLetters: number;
}

/** uPlot's aligned columns: x values first, then one column per series. */
export type Columns = [number[], ...(number | null)[][]];

export function overviewSample(metrics: readonly MetricSample[], at: number): OverviewSample {
  const sum = (name: string, label: string, value: string) =>
    metrics.filter((m) => m.name === name && m.labels[label] === value).reduce((total, m) => total + m.value, 0);
  return {
    at,
    writes: {
      ok: sum('ingestion_write_total', 'result', 'ok'),
      noop: sum('ingestion_write_total', 'result', 'noop'),
      reject: sum('ingestion_write_total', 'result', 'reject'),
    },
    queued: sum('stella_queue_jobs', 'state', 'queued'),
    active: sum('stella_queue_jobs', 'state', 'active'),
    deadLetters: sum('stella_queue_jobs', 'state', 'dead_letter'),
  };
}

/** The history with `next` appended, oldest dropped past MAX_SAMPLES. */
export function appendSample(history: readonly OverviewSample[], next: OverviewSample): OverviewSample[] {
  return [...history, next].slice(-MAX_SAMPLES);
}

/**
 * Writes per second between consecutive scrapes, one column per result. A counter that went down was
 * reset by a server restart: what it counts since then is the increase.
 */
export function ingestRateColumns(history: readonly OverviewSample[]): Columns {
  const pairs = history.slice(1).map((sample, i) => [history[i]!, sample] as const);
  return [
    pairs.map(([, b]) => b.at),
    ...WRITE_RESULTS.map((result) =>
      pairs.map(([a, b]) => {
        const seconds = b.at - a.at;
        if (seconds <= 0) return null;
        const increase = b.writes[result] - a.writes[result];
        return (increase < 0 ? b.writes[result] : increase) / seconds;
      }),
    ),
  ];
}

export function queueColumns(history: readonly OverviewSample[]): Columns {
  return [history.map((s) => s.at), history.map((s) => s.queued), history.map((s) => s.active)];
}

export function deadLetterColumns(history: readonly OverviewSample[]): Columns {
  return [history.map((s) => s.at), history.map((s) => s.deadLetters)];
}
