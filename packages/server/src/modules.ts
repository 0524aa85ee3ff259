// The rooms this server is made of, in one list, in dependency order.
import { aocModule } from '@stella/aoc';
import { authorityModule } from '@stella/authority';
import { exportModule } from '@stella/export';
import { type Module, platformModule } from '@stella/platform';
import { signalsModule } from '@stella/signals';

export const modules: readonly Module[] = [platformModule, authorityModule, aocModule, signalsModule, exportModule];
