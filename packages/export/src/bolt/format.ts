// SPDX-License-Identifier: Apache-2.0
// bbolt's on-disk constants and the meta checksum, shared by the writer and the reader so both agree
// byte for byte with Go's go.etcd.io/bbolt (format notes: ../shared/spec/export-formats.md §2).

export const MAGIC = 0xed0cdaed;
export const FORMAT_VERSION = 2;
/** The page size we write; the reader takes whatever the meta says (bbolt does the same). */
export const DEFAULT_PAGE_SIZE = 4096;
export const PAGE_HEADER_SIZE = 16;
export const LEAF_ELEMENT_SIZE = 16;
export const BRANCH_ELEMENT_SIZE = 16;
export const BUCKET_HEADER_SIZE = 16;
/** The meta struct up to (not including) its checksum: the bytes FNV-1a 64 covers. */
export const META_CHECKSUM_OFFSET = 56;
export const META_SIZE = 64;

export const PageFlag = { branch: 0x01, leaf: 0x02, meta: 0x04, freelist: 0x10 } as const;
/** Leaf element flag: the value is a sub-bucket header (plus an inline page when its root is 0). */
export const BUCKET_LEAF_FLAG = 0x01;

/** bbolt refuses longer keys in Put (ErrKeyTooLarge); a reader meeting one knows the file is foreign. */
export const MAX_KEY_SIZE = 32768;
/** bbolt's maxValueSize: (1 << 31) - 2. */
export const MAX_VALUE_SIZE = 2 ** 31 - 2;
/** The page header's element count is a u16. */
export const MAX_PAGE_ELEMENTS = 0xffff;
/** bbolt inlines a bucket only when its leaf image fits in a quarter page (its maxInlineBucketSize). */
export const inlineLimit = (pageSize: number) => pageSize / 4;

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const U64 = (1n << 64n) - 1n;

/** FNV-1a 64 over the meta struct's first 56 bytes, as bbolt's meta.sum64 computes it. */
export function metaChecksum(meta: Uint8Array): bigint {
  let hash = FNV_OFFSET;
  for (let i = 0; i < META_CHECKSUM_OFFSET; i++) {
    hash ^= BigInt(meta[i]!);
    hash = (hash * FNV_PRIME) & U64;
  }
  return hash;
}
