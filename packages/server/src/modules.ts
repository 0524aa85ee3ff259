// The rooms this server is made of, in one list, in dependency order.
import { aocModule, vulnerableSymbols } from '@stella/aoc';
import { authorityModule } from '@stella/authority';
import { exportModule } from '@stella/export';
import { type Module, platformModule } from '@stella/platform';
import { createSignalsModule } from '@stella/signals';

// Signals asks the AOC room for the vulnerable symbols of its default reachability targets.
const signalsModule = createSignalsModule({ advisories: { vulnerableSymbols } });

export const modules: readonly Module[] = [platformModule, authorityModule, aocModule, signalsModule, exportModule];
