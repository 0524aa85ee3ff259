// SPDX-License-Identifier: Apache-2.0
// Writes a bbolt (BoltDB) file from an in-memory bucket tree, because no npm package writes the format
// Trivy reads (export-formats.md §2). Pages are laid out bottom-up and appended to the file as soon as
// they are complete, so a 300 MB database never exists twice in memory; the output is a pure function
// of the input (fixed txids, zeroed slack, byte-wise key order), so two exports give the same bytes.
import { type FileHandle, open } from 'node:fs/promises';
import {
  BRANCH_ELEMENT_SIZE,
  BUCKET_HEADER_SIZE,
  BUCKET_LEAF_FLAG,
  DEFAULT_PAGE_SIZE,
  FORMAT_VERSION,
  inlineLimit,
  LEAF_ELEMENT_SIZE,
  MAGIC,
  MAX_KEY_SIZE,
  MAX_PAGE_ELEMENTS,
  MAX_VALUE_SIZE,
  META_CHECKSUM_OFFSET,
  metaChecksum,
  PAGE_HEADER_SIZE,
  PageFlag,
} from './format.ts';

export type BoltKey = string | Uint8Array;
export type BoltValue = Uint8Array | BoltBucket;

/** A bucket: keys map to values (bytes) or to nested buckets. String keys are stored as UTF-8. */
export interface BoltBucket {
  entries: Map<BoltKey, BoltValue>;
  /** bbolt's per-bucket sequence (NextSequence); 0 unless given. */
  sequence?: bigint;
}

export interface BoltWriteOptions {
  /** Page size in bytes, a power of two ≥ 1024; 4096 (bbolt's usual) unless given. */
  pageSize?: number;
}

export interface BoltWriteResult {
  bytes: number;
  pages: number;
}

interface LeafElement {
  key: Buffer;
  value: Uint8Array;
  flags: number;
}

interface ChildRef {
  firstKey: Buffer;
  pgid: number;
}

/** Builds a bucket from entries (a convenience for callers that hold arrays). */
export function boltBucket(entries: Iterable<readonly [BoltKey, BoltValue]> = []): BoltBucket {
  return { entries: new Map(entries) };
}

export function isBoltBucket(value: BoltValue): value is BoltBucket {
  return !(value instanceof Uint8Array);
}

/** Pages 0 and 1 are the metas, 2 the (empty) freelist; the tree starts at 3. */
const FIRST_TREE_PAGE = 3;
const FREELIST_PAGE = 2;
/** Pages are gathered into writes of about this size: fewer syscalls, bounded memory. */
const FLUSH_BYTES = 1 << 20;

/** Appends pages to the file in id order and hands out their ids. */
class PageSink {
  nextId = FIRST_TREE_PAGE;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private position: number;

  private readonly file: FileHandle;
  readonly pageSize: number;

  constructor(file: FileHandle, pageSize: number) {
    this.file = file;
    this.pageSize = pageSize;
    this.position = FIRST_TREE_PAGE * pageSize;
  }

  /** Hands out the ids of `span` consecutive pages; they must be appended next, in this order. */
  reserve(span: number): number {
    const pgid = this.nextId;
    this.nextId += span;
    return pgid;
  }

  /** A zeroed page buffer spanning enough pages for `size` bytes, with its header filled in. */
  allocate(size: number, flags: number, count: number): { page: Buffer; pgid: number } {
    const span = Math.max(1, Math.ceil(size / this.pageSize));
    const page = Buffer.alloc(span * this.pageSize);
    const pgid = this.reserve(span);
    writePageHeader(page, pgid, flags, count, span - 1);
    return { page, pgid };
  }

  /** Queues page bytes (one buffer, or segments that together fill whole pages) for the file. */
  async append(...segments: Uint8Array[]): Promise<void> {
    for (const segment of segments) {
      this.pending.push(segment);
      this.pendingBytes += segment.length;
    }
    if (this.pendingBytes >= FLUSH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const segments = this.pending;
    const total = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    await writeAll(this.file, segments, this.position);
    this.position += total;
  }
}

/** Writes the segments contiguously at `position` with writev, resuming after a short write. */
async function writeAll(file: FileHandle, segments: Uint8Array[], position: number): Promise<void> {
  let rest = segments;
  let at = position;
  while (rest.length > 0) {
    const { bytesWritten } = await file.writev(rest, at);
    at += bytesWritten;
    let skip = bytesWritten;
    const next: Uint8Array[] = [];
    for (const segment of rest) {
      if (skip >= segment.length) skip -= segment.length;
      else {
        next.push(segment.subarray(skip));
        skip = 0;
      }
    }
    rest = next;
  }
}

function writePageHeader(page: Buffer, pgid: number, flags: number, count: number, overflow: number): void {
  page.writeBigUInt64LE(BigInt(pgid), 0);
  page.writeUInt16LE(flags, 8);
  page.writeUInt16LE(count, 10);
  page.writeUInt32LE(overflow, 12);
}

function encodeKey(key: BoltKey): Buffer {
  const bytes =
    typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key.buffer, key.byteOffset, key.length);
  if (bytes.length === 0) throw new RangeError('bbolt keys must not be empty');
  if (bytes.length > MAX_KEY_SIZE) throw new RangeError(`bbolt key of ${bytes.length} bytes exceeds ${MAX_KEY_SIZE}`);
  return bytes;
}

/** The bucket's entries with encoded keys in byte-wise order; duplicate encodings are refused. */
export function sortedEntries(bucket: BoltBucket): { key: Buffer; value: BoltValue }[] {
  const sorted = [...bucket.entries].map(([key, value]) => ({ key: encodeKey(key), value }));
  sorted.sort((a, b) => Buffer.compare(a.key, b.key));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i - 1]!.key.equals(sorted[i]!.key)) {
      throw new RangeError(
        `duplicate bbolt key ${sorted[i]!.key.toString('hex')} (a string and bytes that encode alike?)`,
      );
    }
  }
  for (const { key, value } of sorted) {
    if (!isBoltBucket(value) && value.length > MAX_VALUE_SIZE) {
      throw new RangeError(`bbolt value under key ${key.toString('hex')} exceeds ${MAX_VALUE_SIZE} bytes`);
    }
  }
  return sorted;
}

const leafElementBytes = (e: LeafElement) => LEAF_ELEMENT_SIZE + e.key.length + e.value.length;

/** Lays out a leaf page image (elements first, then each key followed by its value). */
function fillLeaf(page: Buffer, elements: readonly LeafElement[]): void {
  let data = PAGE_HEADER_SIZE + elements.length * LEAF_ELEMENT_SIZE;
  elements.forEach((e, i) => {
    const at = PAGE_HEADER_SIZE + i * LEAF_ELEMENT_SIZE;
    page.writeUInt32LE(e.flags, at);
    page.writeUInt32LE(data - at, at + 4);
    page.writeUInt32LE(e.key.length, at + 8);
    page.writeUInt32LE(e.value.length, at + 12);
    e.key.copy(page, data);
    data += e.key.length;
    page.set(e.value, data);
    data += e.value.length;
  });
}

function fillBranch(page: Buffer, children: readonly ChildRef[]): void {
  let data = PAGE_HEADER_SIZE + children.length * BRANCH_ELEMENT_SIZE;
  children.forEach((c, i) => {
    const at = PAGE_HEADER_SIZE + i * BRANCH_ELEMENT_SIZE;
    page.writeUInt32LE(data - at, at);
    page.writeUInt32LE(c.firstKey.length, at + 4);
    page.writeBigUInt64LE(BigInt(c.pgid), at + 8);
    c.firstKey.copy(page, data);
    data += c.firstKey.length;
  });
}

/** Splits items into page-sized groups: a group closes when the next item would overflow the page. */
function packPages<T>(items: readonly T[], size: (item: T) => number, pageSize: number): T[][] {
  const groups: T[][] = [];
  let group: T[] = [];
  let used = PAGE_HEADER_SIZE;
  for (const item of items) {
    const bytes = size(item);
    if (group.length > 0 && (used + bytes > pageSize || group.length === MAX_PAGE_ELEMENTS)) {
      groups.push(group);
      group = [];
      used = PAGE_HEADER_SIZE;
    }
    group.push(item);
    used += bytes;
  }
  if (group.length > 0 || groups.length === 0) groups.push(group);
  return groups;
}

async function writeLeaf(sink: PageSink, group: readonly LeafElement[]): Promise<number> {
  const size = PAGE_HEADER_SIZE + group.reduce((n, e) => n + leafElementBytes(e), 0);
  const { page, pgid } = sink.allocate(size, PageFlag.leaf, group.length);
  fillLeaf(page, group);
  await sink.append(page);
  return pgid;
}

/**
 * A leaf holding one value of a page or more: its header, element and key are built, the value is
 * handed to the file as it is (no copy), then zeros up to the page boundary, so a 300 MB database of
 * large values never allocates page buffers the size of its values.
 */
async function writeLargeLeaf(sink: PageSink, element: LeafElement): Promise<number> {
  const head = PAGE_HEADER_SIZE + LEAF_ELEMENT_SIZE + element.key.length;
  const size = head + element.value.length;
  const span = Math.ceil(size / sink.pageSize);
  const pgid = sink.reserve(span);
  const prefix = Buffer.alloc(head);
  writePageHeader(prefix, pgid, PageFlag.leaf, 1, span - 1);
  prefix.writeUInt32LE(element.flags, PAGE_HEADER_SIZE);
  prefix.writeUInt32LE(LEAF_ELEMENT_SIZE, PAGE_HEADER_SIZE + 4);
  prefix.writeUInt32LE(element.key.length, PAGE_HEADER_SIZE + 8);
  prefix.writeUInt32LE(element.value.length, PAGE_HEADER_SIZE + 12);
  element.key.copy(prefix, PAGE_HEADER_SIZE + LEAF_ELEMENT_SIZE);
  await sink.append(prefix, element.value, Buffer.alloc(span * sink.pageSize - size));
  return pgid;
}

/** Writes a bucket's leaf pages, then branch levels up to one root; returns the root page id. */
async function writeTree(sink: PageSink, elements: readonly LeafElement[]): Promise<number> {
  let level: ChildRef[] = [];
  for (const group of packPages(elements, leafElementBytes, sink.pageSize)) {
    const only = group.length === 1 ? group[0]! : undefined;
    const pgid =
      only && only.value.length >= sink.pageSize ? await writeLargeLeaf(sink, only) : await writeLeaf(sink, group);
    level.push({ firstKey: group[0]?.key ?? Buffer.alloc(0), pgid });
  }
  const branchBytes = (c: ChildRef) => BRANCH_ELEMENT_SIZE + c.firstKey.length;
  while (level.length > 1) {
    const next: ChildRef[] = [];
    for (const group of packPages(level, branchBytes, sink.pageSize)) {
      const size = PAGE_HEADER_SIZE + group.reduce((n, c) => n + branchBytes(c), 0);
      const { page, pgid } = sink.allocate(size, PageFlag.branch, group.length);
      fillBranch(page, group);
      await sink.append(page);
      next.push({ firstKey: group[0]!.firstKey, pgid });
    }
    level = next;
  }
  return level[0]!.pgid;
}

function bucketHeader(root: number, sequence: bigint): Buffer {
  const header = Buffer.alloc(BUCKET_HEADER_SIZE);
  header.writeBigUInt64LE(BigInt(root), 0);
  header.writeBigUInt64LE(sequence, 8);
  return header;
}

/** The value stored under a sub-bucket's key: its header, plus its leaf image when it is inline. */
async function bucketValue(sink: PageSink, bucket: BoltBucket): Promise<Buffer> {
  const elements = await leafElements(sink, bucket);
  const sequence = bucket.sequence ?? 0n;
  const imageSize = PAGE_HEADER_SIZE + elements.reduce((n, e) => n + leafElementBytes(e), 0);
  const inline = elements.every((e) => e.flags === 0) && imageSize <= inlineLimit(sink.pageSize);
  if (!inline) return bucketHeader(await writeTree(sink, elements), sequence);
  const value = Buffer.alloc(BUCKET_HEADER_SIZE + imageSize);
  bucketHeader(0, sequence).copy(value, 0);
  const image = value.subarray(BUCKET_HEADER_SIZE);
  writePageHeader(image, 0, PageFlag.leaf, elements.length, 0);
  fillLeaf(image, elements);
  return value;
}

/** The bucket's leaf elements, writing its page-backed sub-buckets first (children before parents). */
async function leafElements(sink: PageSink, bucket: BoltBucket): Promise<LeafElement[]> {
  const elements: LeafElement[] = [];
  for (const { key, value } of sortedEntries(bucket)) {
    if (isBoltBucket(value)) elements.push({ key, value: await bucketValue(sink, value), flags: BUCKET_LEAF_FLAG });
    else elements.push({ key, value, flags: 0 });
  }
  return elements;
}

function metaPage(pageSize: number, txid: number, root: number, rootSequence: bigint, pageCount: number): Buffer {
  const page = Buffer.alloc(pageSize);
  writePageHeader(page, txid, PageFlag.meta, 0, 0);
  const meta = page.subarray(PAGE_HEADER_SIZE);
  meta.writeUInt32LE(MAGIC, 0);
  meta.writeUInt32LE(FORMAT_VERSION, 4);
  meta.writeUInt32LE(pageSize, 8);
  meta.writeUInt32LE(0, 12);
  meta.writeBigUInt64LE(BigInt(root), 16);
  meta.writeBigUInt64LE(rootSequence, 24);
  meta.writeBigUInt64LE(BigInt(FREELIST_PAGE), 32);
  meta.writeBigUInt64LE(BigInt(pageCount), 40);
  meta.writeBigUInt64LE(BigInt(txid), 48);
  meta.writeBigUInt64LE(metaChecksum(meta), META_CHECKSUM_OFFSET);
  return page;
}

function checkPageSize(pageSize: number): void {
  if (!Number.isInteger(pageSize) || pageSize < 1024 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    throw new RangeError(`bbolt page size must be a power of two between 1024 and 65536, not ${pageSize}`);
  }
}

/**
 * Writes `root` as a bbolt database at `path` (replacing any file there). The root holds only
 * buckets, as in bbolt (a transaction cannot Put at the root).
 */
export async function writeBolt(
  root: BoltBucket,
  path: string,
  options: BoltWriteOptions = {},
): Promise<BoltWriteResult> {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  checkPageSize(pageSize);
  for (const [key, value] of root.entries) {
    if (!isBoltBucket(value)) throw new RangeError(`the root holds only buckets; key ${String(key)} has a value`);
  }
  const file = await open(path, 'w');
  try {
    const sink = new PageSink(file, pageSize);
    const elements = await leafElements(sink, root);
    const rootPgid = await writeTree(sink, elements);
    await sink.flush();
    const pageCount = sink.nextId;
    const head = Buffer.alloc(FIRST_TREE_PAGE * pageSize);
    metaPage(pageSize, 0, rootPgid, root.sequence ?? 0n, pageCount).copy(head, 0);
    metaPage(pageSize, 1, rootPgid, root.sequence ?? 0n, pageCount).copy(head, pageSize);
    writePageHeader(head.subarray(FREELIST_PAGE * pageSize), FREELIST_PAGE, PageFlag.freelist, 0, 0);
    await writeAll(file, [head], 0);
    await file.truncate(pageCount * pageSize);
    return { bytes: pageCount * pageSize, pages: pageCount };
  } finally {
    await file.close();
  }
}
