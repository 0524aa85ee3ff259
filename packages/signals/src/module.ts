// SPDX-License-Identifier: Apache-2.0
// Signals as a room of the server.
import type { Module } from '@stella/platform';

export const signalsModule: Module = {
  name: 'signals',
  dependsOn: ['platform', 'aoc'],
};
