// SPDX-License-Identifier: Apache-2.0
// The Trivy DB projection (docs/trivy.md): raw AOC advisory records → the buckets and values of a
// Trivy-compatible trivy.db. Pure: no I/O and no database; the trivy:db adapter streams records in and
// writes the tree with writeBolt.
export { TrivyDbBuilder } from './builder.ts';
export { groupIds } from './osv.ts';
export { normalisePackage, trivyEcosystem } from './sources.ts';
export type { TrivyBuildStats, TrivyRecord, TrivySkip, TrivySkipReason } from './types.ts';
