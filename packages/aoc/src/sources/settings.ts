// SPDX-License-Identifier: Apache-2.0
// Per-source settings from `aoc.sources` with their defaults filled in (the config schema keeps the
// members optional because defaults are not applied inside a record of sources).
import type { Config } from '@stella/platform';
import type { AocSourceConfig } from '../config.ts';

export type SourceSettings = Required<AocSourceConfig>;

export function sourceSettings(source: AocSourceConfig | undefined): SourceSettings {
  return {
    signature: source?.signature ?? 'record',
    keys: source?.keys ?? [],
    kind: source?.kind ?? 'auto',
    input: source?.input ?? '',
    schedule: source?.schedule ?? '0 * * * *',
    tenant: source?.tenant ?? 'default',
  };
}

export function configuredSources(config: Config): Array<[string, SourceSettings]> {
  return Object.entries(config.aoc.sources)
    .map(([vendor, source]): [string, SourceSettings] => [vendor, sourceSettings(source)])
    .sort(([a], [b]) => a.localeCompare(b));
}

/** The queue of a source's runs: one per source, because pg-boss keeps one schedule per queue. */
export function connectorQueue(vendor: string): string {
  return `aoc.connector.${vendor}`;
}
