// SPDX-License-Identifier: Apache-2.0
// @stella/aoc: raw advisory and VEX ingestion under the Aggregation-Only Contract.
export { AocErrors } from './errors.ts';
export type * from './formats/types.ts';
export { aocModule } from './module.ts';
