// SPDX-License-Identifier: Apache-2.0
// The configured sources of a tenant as the API shows them (settings with their connector state), and
// a run queued now for the scheduled workers to pick up.
import { Errors, StellaError } from '@stella/core';
import type { Ctx } from '@stella/platform';
import { listConnectorStates } from '../sql/connector-state.ts';
import { configuredSources, connectorQueue, type SourceSettings, sourceSettings } from './settings.ts';

export interface SourceStatus {
  vendor: string;
  input: string;
  schedule: string | null;
  signature: SourceSettings['signature'];
  kind: SourceSettings['kind'];
  cursor: string | null;
  lastRunAt: string | null;
  lastError: string | null;
}

export interface SourceControl {
  /** The tenant's configured sources with their cursor, last run and last error. */
  list(tenant: string): Promise<{ sources: SourceStatus[] }>;
  /** Queues a run of a scheduled source; not found unless it is this tenant's and has an input. */
  runNow(
    tenant: string,
    vendor: string,
    options: { restart: boolean },
  ): Promise<{ vendor: string; jobId: string | null }>;
}

export function createSourceControl(ctx: Ctx): SourceControl {
  return {
    async list(tenant) {
      const rows = await ctx.db.transaction((tx) => listConnectorStates(tx), { tenant });
      const sources = configuredSources(ctx.config)
        .filter(([, s]) => s.tenant === tenant)
        .map(([vendor, s]): SourceStatus => {
          const state = rows.find((r) => r.source_vendor === vendor && r.input === s.input);
          return {
            vendor,
            input: s.input,
            schedule: s.input ? s.schedule : null,
            signature: s.signature,
            kind: s.kind,
            cursor: state?.cursor ?? null,
            lastRunAt: state ? new Date(state.updated_at).toISOString() : null,
            lastError: state?.last_error ?? null,
          };
        });
      return { sources };
    },
    async runNow(tenant, vendor, options) {
      const configured = ctx.config.aoc.sources[vendor];
      const source = configured ? sourceSettings(configured) : undefined;
      if (!source?.input || source.tenant !== tenant) {
        throw new StellaError(
          Errors.notFound,
          `no scheduled source ${vendor} for this tenant (aoc.sources.${vendor}.input in stella.yaml)`,
        );
      }
      const jobId = await ctx.queue.send(connectorQueue(vendor), { restart: options.restart });
      return { vendor, jobId };
    },
  };
}
