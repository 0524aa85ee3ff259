// SPDX-License-Identifier: Apache-2.0
// What every phase of one export run shares: the run and its profile revision, the adapter that
// builds it, the private staging directory, the injected clock, and the progress reports through
// which a cancellation is noticed.
import type { Clock } from '@stella/core';
import type { Config, Db, Logger, Queryable, SigningKeyStore, TenantBlobs } from '@stella/platform';
import type { ExportAdapter } from '../adapters/adapter.ts';
import type { DistributionDriver } from '../distribution/index.ts';
import type { ExportMetrics } from '../metrics.ts';
import type { ExportProfile } from '../profiles/schema.ts';
import type { Selectors } from '../selectors.ts';
import type { ExportService } from '../service/index.ts';
import { type RunRow, runStatus, updateRun } from '../sql/runs.ts';

// Often enough for a watched progress bar, rare enough that a large run is not slowed by its reports.
const PROGRESS_INTERVAL_MS = 500;
// Data is 90 % of the work; signing, packing and storing the rest.
const DATA_PERCENT = 90;

/** Thrown wherever a phase notices that the run was cancelled: the worker stops without failing it. */
export class RunCancelled extends Error {}

/** The worker's collaborators, as the phases use them. */
export interface RunServices {
  service: ExportService;
  blobs: TenantBlobs;
  signing: SigningKeyStore;
  config: Config;
  metrics: ExportMetrics;
  db: Db;
  clock: Clock;
  drivers: { object?: DistributionDriver; oci?: DistributionDriver };
}

export interface RunContext {
  services: RunServices;
  run: RunRow;
  tenant: string;
  profile: ExportProfile;
  adapter: ExportAdapter;
  selectors: Selectors;
  /** Private to this attempt; removed by the worker whatever happens. */
  staging: string;
  log: Logger;
  /** Stores progress at most every PROGRESS_INTERVAL_MS (always with `force`); throws RunCancelled once cancelled. */
  progress(itemsCompleted: number, itemsTotal: number, force?: boolean): Promise<void>;
  /** Throws RunCancelled if the run was cancelled meanwhile. */
  checkpoint(): Promise<void>;
  /** Seconds per phase, logged with the outcome so an operator can see where a slow run spent its time. */
  timings: PhaseTimings;
}

export interface PhaseTimings {
  /** Ends the phase `name` now; the next one starts. */
  mark(name: string): void;
  readonly seconds: Record<string, number>;
}

function phaseTimings(): PhaseTimings {
  const seconds: Record<string, number> = {};
  let mark = performance.now();
  return {
    seconds,
    mark(name) {
      const now = performance.now();
      seconds[name] = Math.round(now - mark) / 1000;
      mark = now;
    },
  };
}

export function createRunContext(
  services: RunServices,
  claimed: { run: RunRow; profile: ExportProfile; adapter: ExportAdapter },
  staging: string,
  log: Logger,
): RunContext {
  const { run } = claimed;
  const { service, clock } = services;
  const tenant = run.tenant;
  const isCancelled = async (q: Queryable) => (await runStatus(q, run.run_id)) === 'cancelled';
  let lastProgress = 0;
  // One transaction per report: it stores the progress and notices a cancellation at once.
  const progress = async (itemsCompleted: number, itemsTotal: number, force = false) => {
    const now = performance.now();
    if (!force && now - lastProgress < PROGRESS_INTERVAL_MS) return;
    lastProgress = now;
    const percent =
      itemsTotal === 0
        ? DATA_PERCENT
        : Math.min(DATA_PERCENT, Math.floor((itemsCompleted / itemsTotal) * DATA_PERCENT));
    const p = { percent, itemsCompleted, itemsTotal };
    const stop = await service.transaction(tenant, async (q) => {
      if (await isCancelled(q)) return true;
      await updateRun(q, run.run_id, { progress: p });
      await service.emit(q, tenant, run.run_id, 'progress', {
        runId: run.run_id,
        status: 'running',
        progress: p,
        ts: clock.now().toISOString(),
      });
      return false;
    });
    if (stop) throw new RunCancelled();
  };
  return {
    ...claimed,
    services,
    tenant,
    selectors: run.selectors as unknown as Selectors,
    staging,
    log,
    progress,
    async checkpoint() {
      if (await service.transaction(tenant, isCancelled)) throw new RunCancelled();
    },
    timings: phaseTimings(),
  };
}
