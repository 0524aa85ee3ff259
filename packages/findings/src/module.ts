// SPDX-License-Identifier: Apache-2.0
// The findings room as a module of the server. This slice brings the ecosystem version comparators
// and `stella versions`; SBOM ingest, matching and policy (issue 13) add tables, routes and jobs.
import type { Module } from '@stella/platform';
import { registerVersionsCommands } from './commands/versions.ts';

export const findingsModule: Module = {
  name: 'findings',
  commands(program, cli) {
    registerVersionsCommands(program, cli);
  },
};
