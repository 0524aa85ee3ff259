// The rooms this server is made of, in one list, in dependency order, and the configuration they
// load together.
import {
  AOC_RAW_TOPIC,
  advisoriesForPackages,
  aocModule,
  packageKeys,
  vexForPackages,
  vulnerableSymbols,
} from '@stella/aoc';
import { authorityModule } from '@stella/authority';
import { consoleModule } from '@stella/console';
import { exportModule } from '@stella/export';
import { createFindingsModule } from '@stella/findings';
import {
  type ConfigSection,
  configSectionsOf,
  type LoadConfigOptions,
  type LoadedConfig,
  loadConfig,
  type Module,
  platformModule,
} from '@stella/platform';
import { createSignalsModule, FACT_TOPIC, reachabilityFact, type VulnerableSymbols } from '@stella/signals';

/** Signals asks the AOC room for the vulnerable symbols of its default reachability targets. */
export const signalsAdvisories: VulnerableSymbols = { vulnerableSymbols };

const signalsModule = createSignalsModule({ advisories: signalsAdvisories });

// Findings matches SBOM components against the advisories the AOC room holds and joins its VEX and the
// reachability Signals computed for their subject, each read through the room's door; the rooms'
// outbox topics keep stored findings current.
const findingsModule = createFindingsModule({
  advisories: { advisoriesForPackages, packageKeys },
  reachability: { reachabilityFact },
  vex: { vexForPackages },
  recomputeOn: [AOC_RAW_TOPIC, FACT_TOPIC],
});

export const modules: readonly Module[] = [
  platformModule,
  authorityModule,
  aocModule,
  signalsModule,
  exportModule,
  findingsModule,
  consoleModule,
];

/** Every room's configuration section, in module order. */
export const configSections: readonly ConfigSection[] = configSectionsOf(modules);

/** The one loader with every section of this build: what `stella serve` and the CLI read. */
export function loadServerConfig(options: Omit<LoadConfigOptions, 'sections'> = {}): LoadedConfig {
  return loadConfig({ ...options, sections: configSections });
}
