// The rooms this server is made of, in one list. Later issues add aoc, signals and export here.
import { authorityModule } from '@stella/authority';
import { type Module, platformModule } from '@stella/platform';

export const modules: readonly Module[] = [platformModule, authorityModule];
