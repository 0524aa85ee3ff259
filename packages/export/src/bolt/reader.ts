// SPDX-License-Identifier: Apache-2.0
// Reads a bbolt file without Go: the tests compare it with Go's bbolt, and `stella export verify` will
// use it on exported trivy.db files. Input is untrusted: every page id is bounds-checked, every element
// must lie inside its page, keys must ascend strictly, and a page met twice is refused, so a corrupt or
// hostile file fails with a BoltFormatError instead of looping or reading out of range.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import {
  BRANCH_ELEMENT_SIZE,
  BUCKET_HEADER_SIZE,
  BUCKET_LEAF_FLAG,
  FORMAT_VERSION,
  LEAF_ELEMENT_SIZE,
  MAGIC,
  META_CHECKSUM_OFFSET,
  META_SIZE,
  metaChecksum,
  PAGE_HEADER_SIZE,
  PageFlag,
} from './format.ts';
import type { BoltKey } from './writer.ts';

export class BoltFormatError extends Error {
  override name = 'BoltFormatError';
}

export interface BoltMeta {
  pageSize: number;
  root: number;
  freelist: bigint;
  pageCount: number;
  txid: bigint;
}

/** One entry of a bucket: a value, or a nested bucket (then `value` is undefined). */
export interface BoltEntry {
  key: Buffer;
  value?: Buffer;
  bucket: boolean;
}

/** A parsed page (or an inline bucket's leaf image). */
interface Page {
  bytes: Buffer;
  flags: number;
  count: number;
}

/** Where a bucket's elements live: a page tree, or an inline image inside its parent's value. */
type BucketRoot = { pgid: number } | { inline: Page };

/** Page sizes tried for meta 1 when meta 0 is unreadable (bbolt falls back to the OS page size). */
const FALLBACK_PAGE_SIZES = [4096, 8192, 16384, 65536, 1024, 2048, 32768];

const toBuffer = (key: BoltKey) => (typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key));

function readAt(fd: number, length: number, position: number): Buffer {
  const bytes = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, bytes, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? bytes : bytes.subarray(0, done);
}

/** The meta at `page`, or the reason it is unusable. */
function parseMeta(page: Buffer, expectedId: number): BoltMeta | string {
  if (page.length < PAGE_HEADER_SIZE + META_SIZE) return 'file too short for a meta page';
  const meta = page.subarray(PAGE_HEADER_SIZE, PAGE_HEADER_SIZE + META_SIZE);
  if (meta.readUInt32LE(0) !== MAGIC) return 'bad magic (not a bbolt file)';
  if (page.readBigUInt64LE(0) !== BigInt(expectedId)) return `page id is ${page.readBigUInt64LE(0)}, not ${expectedId}`;
  if ((page.readUInt16LE(8) & PageFlag.meta) === 0) return 'not flagged as a meta page';
  if (meta.readUInt32LE(4) !== FORMAT_VERSION) return `unsupported version ${meta.readUInt32LE(4)}`;
  if (meta.readBigUInt64LE(META_CHECKSUM_OFFSET) !== metaChecksum(meta)) return 'checksum mismatch';
  const pageSize = meta.readUInt32LE(8);
  if (pageSize < 512 || pageSize > 1 << 20 || (pageSize & (pageSize - 1)) !== 0) return `bad page size ${pageSize}`;
  const root = meta.readBigUInt64LE(16);
  const pageCount = meta.readBigUInt64LE(40);
  if (pageCount > BigInt(Number.MAX_SAFE_INTEGER) || root >= pageCount) return `root page ${root} beyond ${pageCount}`;
  return {
    pageSize,
    root: Number(root),
    freelist: meta.readBigUInt64LE(32),
    pageCount: Number(pageCount),
    txid: meta.readBigUInt64LE(48),
  };
}

/** The valid meta with the higher txid, as bbolt chooses; refuses when neither is valid. */
function chooseMeta(fd: number): BoltMeta {
  const first = parseMeta(readAt(fd, PAGE_HEADER_SIZE + META_SIZE, 0), 0);
  const sizes = typeof first === 'string' ? FALLBACK_PAGE_SIZES : [first.pageSize];
  const reasons: string[] = [];
  let second: BoltMeta | string = 'not found';
  for (const size of sizes) {
    const candidate = parseMeta(readAt(fd, PAGE_HEADER_SIZE + META_SIZE, size), 1);
    if (typeof candidate !== 'string' && candidate.pageSize === size) {
      second = candidate;
      break;
    }
    reasons.push(
      typeof candidate === 'string' ? candidate : `page size ${candidate.pageSize} disagrees with its position`,
    );
    second = reasons[0]!;
  }
  const valid = [first, second].filter((m): m is BoltMeta => typeof m !== 'string');
  if (valid.length === 0) throw new BoltFormatError(`no valid bbolt meta page: meta 0: ${first}; meta 1: ${second}`);
  return valid.reduce((a, b) => (b.txid > a.txid ? b : a));
}

function elementsFit(page: Page, elementSize: number): void {
  if (PAGE_HEADER_SIZE + page.count * elementSize > page.bytes.length) {
    throw new BoltFormatError(`page claims ${page.count} elements, more than fit in ${page.bytes.length} bytes`);
  }
}

/** A slice of the page at `start` of `length` bytes, refused when it runs past the page. */
function slice(page: Page, start: number, length: number): Buffer {
  if (start < 0 || start + length > page.bytes.length) {
    throw new BoltFormatError(
      `element data [${start}, ${start + length}) runs outside its ${page.bytes.length}-byte page`,
    );
  }
  return page.bytes.subarray(start, start + length);
}

function leafElement(page: Page, index: number): { flags: number; key: Buffer; value: Buffer } {
  const at = PAGE_HEADER_SIZE + index * LEAF_ELEMENT_SIZE;
  const flags = page.bytes.readUInt32LE(at);
  const pos = at + page.bytes.readUInt32LE(at + 4);
  const ksize = page.bytes.readUInt32LE(at + 8);
  const vsize = page.bytes.readUInt32LE(at + 12);
  return { flags, key: slice(page, pos, ksize), value: slice(page, pos + ksize, vsize) };
}

function branchElement(page: Page, index: number): { key: Buffer; pgid: bigint } {
  const at = PAGE_HEADER_SIZE + index * BRANCH_ELEMENT_SIZE;
  const pos = at + page.bytes.readUInt32LE(at);
  const ksize = page.bytes.readUInt32LE(at + 4);
  return { key: slice(page, pos, ksize), pgid: page.bytes.readBigUInt64LE(at + 8) };
}

function inlinePage(value: Buffer): Page {
  const bytes = value.subarray(BUCKET_HEADER_SIZE);
  if (bytes.length < PAGE_HEADER_SIZE) throw new BoltFormatError('inline bucket shorter than a page header');
  const page = { bytes, flags: bytes.readUInt16LE(8), count: bytes.readUInt16LE(10) };
  if (page.flags !== PageFlag.leaf) throw new BoltFormatError(`inline bucket page has flags ${page.flags}, not leaf`);
  elementsFit(page, LEAF_ELEMENT_SIZE);
  return page;
}

export class BoltReader {
  readonly meta: BoltMeta;
  private fd: number;

  /** Opens `path` read-only and picks its meta; throws BoltFormatError on a corrupt or truncated file. */
  constructor(path: string) {
    this.fd = openSync(path, 'r');
    try {
      this.meta = chooseMeta(this.fd);
      const size = fstatSync(this.fd).size;
      const needed = this.meta.pageCount * this.meta.pageSize;
      if (size < needed) {
        throw new BoltFormatError(
          `truncated bbolt file: ${size} bytes, its meta needs ${needed} (${this.meta.pageCount} pages)`,
        );
      }
    } catch (error) {
      closeSync(this.fd);
      throw error;
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  /** Reads page `pgid` (with its overflow pages), refusing ids outside the tree. */
  private page(pgid: bigint | number): Page {
    const { pageSize, pageCount } = this.meta;
    const id = BigInt(pgid);
    if (id < 2n || id >= BigInt(pageCount) || id === this.meta.freelist) {
      throw new BoltFormatError(`page id ${id} is not a tree page (file has ${pageCount} pages)`);
    }
    const head = readAt(this.fd, PAGE_HEADER_SIZE, Number(id) * pageSize);
    if (head.readBigUInt64LE(0) !== id) throw new BoltFormatError(`page ${id} carries id ${head.readBigUInt64LE(0)}`);
    const overflow = head.readUInt32LE(12);
    if (Number(id) + overflow >= pageCount) throw new BoltFormatError(`page ${id} overflows past the last page`);
    const bytes = readAt(this.fd, (overflow + 1) * pageSize, Number(id) * pageSize);
    const page = { bytes, flags: bytes.readUInt16LE(8), count: bytes.readUInt16LE(10) };
    if (page.flags !== PageFlag.leaf && page.flags !== PageFlag.branch) {
      throw new BoltFormatError(`page ${id} has flags ${page.flags}, not a branch or leaf`);
    }
    elementsFit(page, page.flags === PageFlag.leaf ? LEAF_ELEMENT_SIZE : BRANCH_ELEMENT_SIZE);
    return page;
  }

  /** Every leaf page of a bucket in key order; a page met twice (a cycle or shared page) is refused. */
  private *leaves(root: BucketRoot, seen: Set<bigint>): Generator<Page> {
    if ('inline' in root) {
      yield root.inline;
      return;
    }
    const visit = function* (this: BoltReader, pgid: bigint): Generator<Page> {
      if (seen.has(pgid)) throw new BoltFormatError(`page ${pgid} is referenced twice (cycle or shared page)`);
      seen.add(pgid);
      const page = this.page(pgid);
      if (page.flags === PageFlag.leaf) {
        yield page;
        return;
      }
      for (let i = 0; i < page.count; i++) yield* visit.call(this, branchElement(page, i).pgid);
    };
    yield* visit.call(this, BigInt(root.pgid));
  }

  /** The entries of a bucket in stored order, checking that keys ascend strictly. */
  private *entriesOf(root: BucketRoot, seen: Set<bigint>): Generator<BoltEntry & { raw: Buffer }> {
    let previous: Buffer | undefined;
    for (const page of this.leaves(root, seen)) {
      for (let i = 0; i < page.count; i++) {
        const { flags, key, value } = leafElement(page, i);
        if (previous && Buffer.compare(previous, key) >= 0) {
          throw new BoltFormatError(`keys out of order: ${key.toString('hex')} after ${previous.toString('hex')}`);
        }
        previous = key;
        const bucket = (flags & BUCKET_LEAF_FLAG) !== 0;
        yield { key, bucket, raw: value, ...(bucket ? {} : { value }) };
      }
    }
  }

  private bucketRoot(value: Buffer): BucketRoot {
    if (value.length < BUCKET_HEADER_SIZE) throw new BoltFormatError('bucket value shorter than its header');
    const pgid = value.readBigUInt64LE(0);
    if (pgid === 0n) return { inline: inlinePage(value) };
    if (pgid >= BigInt(this.meta.pageCount)) throw new BoltFormatError(`bucket root ${pgid} beyond the last page`);
    return { pgid: Number(pgid) };
  }

  /** Follows a bucket path from the root; undefined when a name is missing or names a value. */
  private resolve(path: readonly BoltKey[]): BucketRoot | undefined {
    let root: BucketRoot = { pgid: this.meta.root };
    for (const name of path) {
      const found = this.find(root, toBuffer(name));
      if (!found?.bucket) return undefined;
      root = this.bucketRoot(found.raw);
    }
    return root;
  }

  /** Looks a key up by descending branch pages (binary search), as bbolt's cursor does. */
  private find(root: BucketRoot, key: Buffer): (BoltEntry & { raw: Buffer }) | undefined {
    let page = 'inline' in root ? root.inline : this.page(root.pgid);
    const path = new Set<bigint>();
    while (page.flags === PageFlag.branch) {
      let lo = 0;
      let hi = page.count - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (Buffer.compare(branchElement(page, mid).key, key) <= 0) lo = mid;
        else hi = mid - 1;
      }
      if (page.count === 0) return undefined;
      const child = branchElement(page, lo).pgid;
      if (path.has(child)) throw new BoltFormatError(`page ${child} is its own ancestor (cycle)`);
      path.add(child);
      page = this.page(child);
    }
    for (let i = 0; i < page.count; i++) {
      const element = leafElement(page, i);
      if (element.key.equals(key)) {
        const bucket = (element.flags & BUCKET_LEAF_FLAG) !== 0;
        return { key: element.key, bucket, raw: element.value, ...(bucket ? {} : { value: element.value }) };
      }
    }
    return undefined;
  }

  /** The value under `key` in the bucket at `path`; undefined when absent or when it is a bucket. */
  get(path: readonly BoltKey[], key: BoltKey): Buffer | undefined {
    const root = this.resolve(path);
    return root ? this.find(root, toBuffer(key))?.value : undefined;
  }

  /** Whether the bucket at `path` exists. */
  hasBucket(path: readonly BoltKey[]): boolean {
    return this.resolve(path) !== undefined;
  }

  /** The entries of the bucket at `path` in key order; throws when there is no such bucket. */
  *entries(path: readonly BoltKey[] = []): Generator<BoltEntry> {
    const root = this.resolve(path);
    if (!root) throw new BoltFormatError(`no bucket at ${path.map((p) => toBuffer(p).toString('hex')).join('/')}`);
    for (const { raw: _raw, ...entry } of this.entriesOf(root, new Set())) yield entry;
  }

  /** Every entry depth-first in key order, with its bucket path; refuses any page reached twice. */
  *walk(): Generator<BoltEntry & { path: Buffer[] }> {
    const seen = new Set<bigint>();
    const visit = function* (
      this: BoltReader,
      root: BucketRoot,
      path: Buffer[],
    ): Generator<BoltEntry & { path: Buffer[] }> {
      for (const { raw, ...entry } of this.entriesOf(root, seen)) {
        yield { ...entry, path };
        if (entry.bucket) yield* visit.call(this, this.bucketRoot(raw), [...path, entry.key]);
      }
    };
    yield* visit.call(this, { pgid: this.meta.root }, []);
  }
}

/** Opens a bbolt file for reading; close it when done. */
export function openBolt(path: string): BoltReader {
  return new BoltReader(path);
}
