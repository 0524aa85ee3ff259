// The signals room's migrations, apart from its module so the offline import can apply them without
// importing the module (which imports the commands, which import the offline import).
import type { Module } from '@stella/platform';

export const signalsMigrations: Module = {
  name: 'signals',
  migrations: new URL('../migrations/', import.meta.url),
  dependsOn: ['platform', 'aoc'],
};
