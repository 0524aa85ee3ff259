// SPDX-License-Identifier: Apache-2.0
// The Export Center's service: profile revisions, run submission under the tenant quota, run state,
// the per-run event log behind the SSE stream, and a run's stored artefacts. The worker
// (worker.ts) executes runs. Each part is a set of functions over the shared core, bound here.

import { artefactOperations } from './artefacts.ts';
import { type ExportServiceDeps, type ServiceCore, serviceCore } from './core.ts';
import { profileOperations } from './profiles.ts';
import { quotaOperations } from './quota.ts';
import { runOperations } from './runs.ts';

export type { RunBundle } from './artefacts.ts';
export type { ExportServiceDeps } from './core.ts';
export type { ProfileFilter } from './profiles.ts';
export { revisionNumber } from './profiles.ts';
export type { QuotaState } from './quota.ts';
export { quotaHeaders } from './quota.ts';
export type { RunQuery, SubmitRequest } from './runs.ts';
export { RUN_QUEUE } from './runs.ts';
export type { ProfileView, RunView } from './views.ts';

type Operations = Record<string, (core: ServiceCore, ...args: never[]) => unknown>;
type Bound<T extends Operations> = {
  [K in keyof T]: T[K] extends (core: ServiceCore, ...args: infer A) => infer R ? (...args: A) => R : never;
};

/** Binds each operation's first parameter to the core, so the parts read as one service object. */
function bindCore<T extends Operations>(core: ServiceCore, operations: T): Bound<T> {
  return Object.fromEntries(
    Object.entries(operations).map(([name, operation]) => {
      const call = operation as (core: ServiceCore, ...args: unknown[]) => unknown;
      return [name, (...args: unknown[]) => call(core, ...args)];
    }),
  ) as Bound<T>;
}

export type ExportService = ReturnType<typeof createExportService>;

export function createExportService(deps: ExportServiceDeps) {
  const core = serviceCore(deps);
  return {
    bus: core.bus,
    ...bindCore(core, profileOperations),
    ...bindCore(core, quotaOperations),
    ...bindCore(core, runOperations),
    ...bindCore(core, artefactOperations),
    emit: core.emit,
    timelineAppend: deps.timeline.append,
    transaction: core.tx,
  };
}
