// SPDX-License-Identifier: Apache-2.0
// The on-disk queue of batches Signals has not accepted yet: one file per batch, written to a temp
// name and renamed (a crash never leaves half a batch under a real name), named by a sequence number
// so the oldest is sent first, kept under a byte cap by dropping the oldest. Batches the server
// refused for good move to rejected/ (capped as well) for an operator to look at.
//
// File: `<seq:16 digits>-<events>-<ingestId>.batch`, a JSON header line (where the batch goes) then
// the NDJSON exactly as it is sent. Directory 0700, files 0600: the events name code the host runs.
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { appendFile, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObserverSubject } from './config.ts';

/** Where a spooled batch is sent; kept in the file so a later process resends it to the same place. */
export interface BatchHeader {
  v: 1;
  ingestId: string;
  tenant: string;
  callgraphId: string;
  subject: ObserverSubject;
  analysisId?: string;
  events: number;
}

export interface SpoolEntry {
  name: string;
  seq: number;
  events: number;
  ingestId: string;
  bytes: number;
  /** Dropped for space while its write was still in progress: the writer removes the file it made. */
  dropped?: boolean;
}

export interface SpooledBatch {
  header: BatchHeader;
  ndjson: Buffer;
}

/** A receipt line: what Signals accepted and how to check it (appended to receipts.ndjson). */
export interface Receipt {
  sentAt: string;
  events: number;
  bodySha256: string;
  contentSha256?: string;
  decodedSha256?: string;
  ingestId: string;
  subjectKey?: string;
  duplicate?: boolean;
}

const NAME = /^(\d{16})-(\d+)-([A-Za-z0-9._:-]{1,128})\.batch$/;
/** receipts.ndjson is renamed to receipts.1.ndjson beyond this, so receipts never take more than twice it. */
export const RECEIPTS_MAX_BYTES = 1024 * 1024;

const parseName = (name: string, bytes: number): SpoolEntry | undefined => {
  const m = NAME.exec(name);
  return m ? { name, seq: Number(m[1]), events: Number(m[2]), ingestId: m[3]!, bytes } : undefined;
};

export function encodeSpoolFile(batch: SpooledBatch): Buffer {
  return Buffer.concat([Buffer.from(`${JSON.stringify(batch.header)}\n`, 'utf8'), batch.ndjson]);
}

export function decodeSpoolFile(bytes: Buffer): SpooledBatch {
  const newline = bytes.indexOf(0x0a);
  if (newline < 0) throw new Error('spool file has no header line');
  const header = JSON.parse(bytes.subarray(0, newline).toString('utf8')) as BatchHeader;
  if (header.v !== 1 || typeof header.ingestId !== 'string' || typeof header.callgraphId !== 'string') {
    throw new Error('spool file header is not a version 1 batch header');
  }
  return { header, ndjson: bytes.subarray(newline + 1) };
}

/** The spool of one callgraph under one directory. Methods never throw for a missing file. */
export class Spool {
  readonly dir: string;
  readonly rejectedDir: string;
  private readonly maxBytes: number;
  private readonly rejectedMaxBytes: number;
  private entries: SpoolEntry[] = [];
  private nextSeq = 1;
  private receiptBytes = 0;
  /** The entry being sent: never dropped for space under the sender's feet (it might be accepted). */
  busy: string | undefined;

  constructor(dir: string, maxBytes: number) {
    this.dir = dir;
    this.rejectedDir = join(dir, 'rejected');
    this.maxBytes = maxBytes;
    // Rejected batches are evidence for an operator, not data in transit: a quarter of the cap is plenty.
    this.rejectedMaxBytes = Math.max(64 * 1024, Math.floor(maxBytes / 4));
  }

  /**
   * Creates the directories and indexes what a previous process left (synchronous: runs once, when
   * the transport starts, before any batch could be queued behind the leftovers).
   */
  openSync(): void {
    mkdirSync(this.rejectedDir, { recursive: true, mode: 0o700 });
    const found: SpoolEntry[] = [];
    for (const name of readdirSync(this.dir)) {
      // A temp file is a write cut short by a crash: never renamed, so never a batch. One younger
      // than a minute may be another observer's write in progress (processes and worker threads
      // share the directory), so it is left alone.
      if (name.startsWith('.tmp-')) {
        const path = join(this.dir, name);
        if (Date.now() - (mtimeOf(path) ?? 0) > TEMP_STALE_MS) unlinkQuiet(path);
        continue;
      }
      const bytes = sizeOf(join(this.dir, name));
      const entry = bytes === undefined ? undefined : parseName(name, bytes);
      if (entry) found.push(entry);
    }
    found.sort((a, b) => a.seq - b.seq || (a.name < b.name ? -1 : 1));
    this.entries = found;
    this.nextSeq = (found.at(-1)?.seq ?? 0) + 1;
    this.receiptBytes = sizeOf(join(this.dir, 'receipts.ndjson')) ?? 0;
  }

  get bytes(): number {
    let total = 0;
    for (const e of this.entries) total += e.bytes;
    return total;
  }

  get size(): number {
    return this.entries.length;
  }

  oldest(): SpoolEntry | undefined {
    return this.entries[0];
  }

  /**
   * Reserves a name for a batch and makes room for it by dropping the oldest batches; answers the
   * entry (undefined when the batch alone is over the cap) and the events dropped to make room.
   */
  private reserve(header: BatchHeader, bytes: number): { entry?: SpoolEntry; dropped: SpoolEntry[] } {
    const dropped: SpoolEntry[] = [];
    if (bytes > this.maxBytes) return { dropped };
    let total = this.bytes;
    while (total + bytes > this.maxBytes) {
      const victim = this.entries.find((e) => e.name !== this.busy);
      if (!victim) break;
      this.entries = this.entries.filter((e) => e !== victim);
      victim.dropped = true;
      total -= victim.bytes;
      dropped.push(victim);
    }
    const seq = this.nextSeq++;
    const name = `${String(seq).padStart(16, '0')}-${header.events}-${header.ingestId}.batch`;
    const entry = { name, seq, events: header.events, ingestId: header.ingestId, bytes };
    this.entries.push(entry);
    return { entry, dropped };
  }

  /** Writes a batch (temp file, fsync, rename); answers the events dropped to keep under the cap. */
  async put(batch: SpooledBatch): Promise<number> {
    const bytes = encodeSpoolFile(batch);
    const { entry, dropped } = this.reserve(batch.header, bytes.length);
    await Promise.all(dropped.map((e) => unlink(join(this.dir, e.name)).catch(() => {})));
    const lost = dropped.reduce((n, e) => n + e.events, 0);
    if (!entry) return lost + batch.header.events;
    const temp = join(this.dir, `.tmp-${entry.name}`);
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      const handle = await open(temp, 'w', 0o600);
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, join(this.dir, entry.name));
      if (entry.dropped) await unlink(join(this.dir, entry.name)).catch(() => {});
    } catch (error) {
      this.entries = this.entries.filter((e) => e !== entry);
      await unlink(temp).catch(() => {});
      throw error;
    }
    return lost;
  }

  /** The same with synchronous calls, for process 'exit' where nothing asynchronous runs any more. */
  putSync(batch: SpooledBatch): number {
    const bytes = encodeSpoolFile(batch);
    const { entry, dropped } = this.reserve(batch.header, bytes.length);
    for (const e of dropped) unlinkQuiet(join(this.dir, e.name));
    const lost = dropped.reduce((n, e) => n + e.events, 0);
    if (!entry) return lost + batch.header.events;
    const temp = join(this.dir, `.tmp-${entry.name}`);
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const fd = openSync(temp, 'w', 0o600);
      try {
        writeSync(fd, bytes);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temp, join(this.dir, entry.name));
    } catch (error) {
      this.entries = this.entries.filter((e) => e !== entry);
      unlinkQuiet(temp);
      throw error;
    }
    return lost;
  }

  async read(entry: SpoolEntry): Promise<SpooledBatch | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(this.dir, entry.name));
    } catch {
      // Gone: another observer sharing the directory sent it, or it was dropped for space.
      this.forget(entry);
      return undefined;
    }
    return decodeSpoolFile(bytes);
  }

  async remove(entry: SpoolEntry): Promise<void> {
    this.forget(entry);
    await unlink(join(this.dir, entry.name)).catch(() => {});
  }

  /** Moves a refused batch to rejected/, with the server's answer beside it; oldest rejected go first. */
  async reject(entry: SpoolEntry, answer: string): Promise<void> {
    this.forget(entry);
    await mkdir(this.rejectedDir, { recursive: true, mode: 0o700 });
    await rename(join(this.dir, entry.name), join(this.rejectedDir, entry.name)).catch(() => {});
    await appendFile(join(this.rejectedDir, `${entry.name}.answer.json`), answer, { mode: 0o600 }).catch(() => {});
    await this.trimRejected();
  }

  /** Adds a batch directly to rejected/ (a batch refused before it was ever spooled). */
  async rejectBatch(batch: SpooledBatch, answer: string): Promise<void> {
    const seq = this.nextSeq++;
    const name = `${String(seq).padStart(16, '0')}-${batch.header.events}-${batch.header.ingestId}.batch`;
    await mkdir(this.rejectedDir, { recursive: true, mode: 0o700 });
    const temp = join(this.rejectedDir, `.tmp-${name}`);
    await appendFile(temp, encodeSpoolFile(batch), { mode: 0o600 });
    await rename(temp, join(this.rejectedDir, name));
    await appendFile(join(this.rejectedDir, `${name}.answer.json`), answer, { mode: 0o600 });
    await this.trimRejected();
  }

  async appendReceipt(receipt: Receipt): Promise<void> {
    const line = `${JSON.stringify(receipt)}\n`;
    const file = join(this.dir, 'receipts.ndjson');
    if (this.receiptBytes + line.length > RECEIPTS_MAX_BYTES) {
      await rename(file, join(this.dir, 'receipts.1.ndjson')).catch(() => {});
      this.receiptBytes = 0;
    }
    this.receiptBytes += line.length;
    await appendFile(file, line, { mode: 0o600 });
  }

  private forget(entry: SpoolEntry): void {
    this.entries = this.entries.filter((e) => e.name !== entry.name);
  }

  private async trimRejected(): Promise<void> {
    const names = (await readdir(this.rejectedDir)).filter((n) => NAME.test(n)).sort();
    const sizes = await Promise.all(
      names.map(async (n) => (await stat(join(this.rejectedDir, n)).catch(() => ({ size: 0 }))).size),
    );
    let total = sizes.reduce((a, b) => a + b, 0);
    for (const [i, name] of names.entries()) {
      if (total <= this.rejectedMaxBytes) break;
      total -= sizes[i]!;
      await rm(join(this.rejectedDir, name), { force: true });
      await rm(join(this.rejectedDir, `${name}.answer.json`), { force: true });
    }
  }
}

/** A temp file older than this is a write that will never finish. */
const TEMP_STALE_MS = 60_000;

function mtimeOf(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function sizeOf(path: string): number | undefined {
  try {
    const s = statSync(path);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
