// SPDX-License-Identifier: Apache-2.0
// examples/node-app as the findings tests see it: npm's own SBOMs of the app and the packages they list.
import { readFileSync } from 'node:fs';

/** The bytes of one of the example's SBOMs (sbom.cdx.json, sbom.spdx.json), exactly as npm wrote them. */
export const nodeAppSbom = (file: string): Buffer =>
  readFileSync(new URL(`../../../examples/node-app/${file}`, import.meta.url));

/** Every component besides the app itself, sorted. */
export const NODE_APP_PURLS = [
  'pkg:npm/camelcase@5.3.1',
  'pkg:npm/decamelize@1.2.0',
  'pkg:npm/formidable@1.2.2',
  'pkg:npm/lru-cache@6.0.0',
  'pkg:npm/path-to-regexp@0.1.7',
  'pkg:npm/semver@7.5.1',
  'pkg:npm/yallist@4.0.0',
  'pkg:npm/yargs-parser@13.1.1',
];
