// SPDX-License-Identifier: Apache-2.0
// The AOC as a room of the server.
import type { Module } from '@stella/platform';

export const aocModule: Module = {
  name: 'aoc',
  dependsOn: ['platform'],
};
