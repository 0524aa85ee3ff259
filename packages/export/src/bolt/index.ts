// SPDX-License-Identifier: Apache-2.0
// bbolt (BoltDB) writer and reader: the storage format of Trivy's vulnerability DB (issue 14).
export { boltDump } from './dump.ts';
export type { BoltEntry, BoltMeta } from './reader.ts';
export { BoltFormatError, BoltReader, openBolt } from './reader.ts';
export type { BoltBucket, BoltKey, BoltValue, BoltWriteOptions, BoltWriteResult } from './writer.ts';
export { boltBucket, isBoltBucket, writeBolt } from './writer.ts';
