// SPDX-License-Identifier: Apache-2.0
// The VEX part of the findings room: reading statements out of raw OpenVEX, CSAF VEX and CycloneDX VEX
// documents (as the AOC room stores them) and deciding which apply to a finding. Pure: no I/O here.
export type { VexComponent, VexVulnerability } from './applicable.ts';
export { applicableStatements, purlApplies } from './applicable.ts';
export { cpeMatches } from './cpe.ts';
export { MAX_STATEMENTS_PER_DOCUMENT } from './product.ts';
export type { SkippedVexRecord } from './read.ts';
export { readVexRecords, readVexStatements } from './read.ts';
export type { VexRecord, VexRecordWithRaw, VexSource } from './source.ts';
