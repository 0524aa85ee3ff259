// SPDX-License-Identifier: Apache-2.0
// The OSV zip connector over archives made by the Debian `zip` tool from real OSV fixtures, and over
// hostile archives written byte by byte (zip-slip names, symlinks, encrypted entries, entries that
// lie about their size, too many entries, a total over the cap, a bad CRC), locally and over HTTP.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { crc32, deflateRawSync } from 'node:zlib';
import { advisoryFixturesUrl } from '@stella/testkit';
import { ConnectorError, connectorFor } from '../src/connectors/index.ts';
import type { FetchedDocument, FetchOptions } from '../src/connectors/types.ts';
import { drain, fetchOptions } from './connector-kit.ts';

const OSV_GO = new URL('osv-go/current/', advisoryFixturesUrl());

interface CraftedEntry {
  name: string;
  data: Buffer;
  /** Size written into both headers; defaults to the real size. */
  declaredSize?: number;
  crc?: number;
  flags?: number;
  /** Unix mode in the upper half of the external attributes. */
  mode?: number;
  stored?: boolean;
}

/** A minimal PKZIP writer, so an archive can say exactly what a hostile one would. */
function craftZip(entries: CraftedEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const body = entry.stored ? entry.data : deflateRawSync(entry.data);
    const crc = entry.crc ?? crc32(entry.data);
    const size = entry.declaredSize ?? entry.data.length;
    const method = entry.stored ? 0 : 8;
    const flags = (entry.flags ?? 0) | 0x800;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(0, 10);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(0, 12);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((entry.mode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

const LIMITS = fetchOptions('').limits;
const options = (input: string, extra: Partial<FetchOptions> = {}) => fetchOptions(input, extra);

/** Both ways of reading an archive (in memory, and from disk by positioned reads) run every test. */
let inMemoryArchiveBytes: number | undefined;

const collect = (input: string, extra: Partial<FetchOptions> = {}, stopAfter = Infinity) =>
  drain(connectorFor('osv-zip', { inMemoryArchiveBytes }), options(input, extra), stopAfter);

/** Runs the connector to the end, keeping what it handed over before it failed. */
async function collectUntilError(input: string, extra: Partial<FetchOptions> = {}) {
  const documents: FetchedDocument[] = [];
  try {
    for await (const doc of connectorFor('osv-zip', { inMemoryArchiveBytes }).fetch(options(input, extra)))
      documents.push(doc);
  } catch (err) {
    assert.ok(err instanceof ConnectorError, `expected a ConnectorError, got ${String(err)}`);
    return { documents, error: err };
  }
  assert.fail(`expected a failure after ${documents.length} documents`);
}

const doc = (n: number) => Buffer.from(`{"id":"OSV-${n}","modified":"2026-01-01T00:00:00Z"}`);

for (const mode of ['in memory', 'from disk'] as const)
  describe(`osv-zip connector (${mode})`, () => {
    before(() => {
      inMemoryArchiveBytes = mode === 'from disk' ? 0 : undefined;
    });
    let dir: string;
    let archive: string;
    let names: string[];

    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'stella-osv-zip-'));
      const tree = join(dir, 'tree');
      mkdirSync(tree);
      names = readdirSync(OSV_GO)
        .filter((n) => n.endsWith('.json'))
        .sort()
        .slice(0, 12);
      for (const name of names) copyFileSync(new URL(name, OSV_GO), join(tree, name));
      writeFileSync(join(tree, 'README.txt'), 'not a document');
      archive = join(dir, 'all.zip');
      // Added in reverse so the archive order differs from the order the connector hands over.
      execFileSync('zip', ['-q', '-X', archive, 'README.txt', ...[...names].reverse()], { cwd: tree });
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    test('streams every document of a zip made by zip(1) in sorted order, byte for byte', async () => {
      const skipped: string[] = [];
      const docs = await collect(archive, { onSkip: (s) => skipped.push(s.location) });
      assert.deepEqual(
        docs.map((x) => x.cursor),
        names,
      );
      for (const d of docs) {
        assert.equal(d.location, `all.zip!/${d.cursor}`);
        assert.deepEqual(Buffer.from(d.bytes), readFileSync(new URL(d.cursor, OSV_GO)));
        assert.equal(d.retrievedAt, '2026-11-25T12:00:00.000Z');
      }
      assert.deepEqual(skipped, ['all.zip!/README.txt']);
    });

    test('resuming from a cursor yields exactly the rest', async () => {
      for (const stop of [1, 5, 11]) {
        const first = await collect(archive, {}, stop);
        const rest = await collect(archive, { cursor: first.at(-1)!.cursor });
        assert.deepEqual(
          [...first, ...rest].map((x) => x.cursor),
          names,
        );
      }
    });

    const hostile: {
      title: string;
      entries: () => CraftedEntry[];
      limits?: Partial<typeof LIMITS>;
      message: RegExp;
    }[] = [
      {
        title: 'a zip-slip name',
        entries: () => [
          { name: 'a.json', data: doc(1) },
          { name: '../../etc/evil.json', data: doc(2) },
        ],
        message: /invalid relative path: \.\.\/\.\.\/etc\/evil\.json/,
      },
      {
        title: 'an absolute name',
        entries: () => [{ name: '/tmp/evil.json', data: doc(2) }],
        message: /absolute path: \/tmp\/evil\.json/,
      },
      {
        title: 'a symlink entry',
        entries: () => [{ name: 'link.json', data: Buffer.from('/etc/passwd'), mode: 0o120777, stored: true }],
        message: /entry "link\.json" is a symbolic link/,
      },
      {
        title: 'an encrypted entry',
        entries: () => [{ name: 'secret.json', data: doc(3), flags: 0x1, stored: true }],
        message: /entry "secret\.json" is encrypted/,
      },
      {
        title: 'two entries with one name',
        entries: () => [
          { name: 'a.json', data: doc(1) },
          { name: 'a.json', data: doc(2) },
        ],
        message: /entry "a\.json" appears twice/,
      },
      {
        title: 'more entries than the cap',
        entries: () => [1, 2, 3, 4].map((n) => ({ name: `${n}.json`, data: doc(n) })),
        limits: { archiveEntries: 3 },
        message: /4 entries, more than the cap of 3/,
      },
      {
        title: 'an entry deflated beyond 100:1 (a bomb)',
        entries: () => [
          { name: '1.json', data: doc(1) },
          { name: '2.json', data: Buffer.alloc(4 * 1024 * 1024, 0x20) },
        ],
        message: /entry "2\.json" inflates \d+ bytes to 4194304, more than 100:1/,
      },
      {
        title: 'a declared total over the cap',
        entries: () => [1, 2, 3].map((n) => ({ name: `${n}.json`, data: Buffer.alloc(400, 0x20) })),
        limits: { decompressedBytes: 1000 },
        message: /more than the cap of 1000 bytes in total \(at "3\.json"\)/,
      },
    ];
    for (const { title, entries, limits, message } of hostile) {
      test(`refuses ${title} before handing over anything`, async () => {
        const path = join(dir, 'hostile.zip');
        writeFileSync(path, craftZip(entries()));
        const { documents, error } = await collectUntilError(path, { limits: { ...LIMITS, ...limits } });
        assert.deepEqual(documents, []);
        assert.equal(error.code, 'ERR_CONNECTOR_HOSTILE_ARCHIVE');
        assert.match(error.message, message);
      });
    }

    test('reads stored (uncompressed) entries, as zip writes them for tiny files', async () => {
      const path = join(dir, 'stored.zip');
      writeFileSync(
        path,
        craftZip([
          { name: '1.json', data: doc(1), stored: true },
          { name: '2.json', data: doc(2) },
        ]),
      );
      const documents = await collect(path);
      assert.deepEqual(
        documents.map((d) => Buffer.from(d.bytes).toString()),
        [doc(1).toString(), doc(2).toString()],
      );
    });

    test('refuses a symlink entry written by zip --symlinks', async () => {
      const tree = join(dir, 'links');
      mkdirSync(tree);
      writeFileSync(join(tree, 'a.json'), doc(1));
      symlinkSync('/etc/hostname', join(tree, 'b.json'));
      const path = join(dir, 'links.zip');
      execFileSync('zip', ['-q', '--symlinks', path, 'a.json', 'b.json'], { cwd: tree });
      const { documents, error } = await collectUntilError(path);
      assert.deepEqual(documents, []);
      assert.match(error.message, /entry "b\.json" is a symbolic link/);
    });

    test('an entry that inflates beyond its declared size stops the run at that entry', async () => {
      const path = join(dir, 'lying.zip');
      const big = Buffer.from(`{"id":"OSV-2","details":"${'A'.repeat(5000)}"}`);
      writeFileSync(
        path,
        craftZip([
          { name: '1.json', data: doc(1) },
          { name: '2.json', data: big, declaredSize: 40 },
          { name: '3.json', data: doc(3) },
        ]),
      );
      const { documents, error } = await collectUntilError(path);
      // Documents before the liar were handed over (the caller has committed them); nothing after it.
      assert.deepEqual(
        documents.map((x) => x.cursor),
        ['1.json'],
      );
      assert.equal(error.code, 'ERR_CONNECTOR_HOSTILE_ARCHIVE');
      assert.match(error.message, /entry "2\.json" inflates beyond its declared size of 40 bytes/);
    });

    test('an entry that inflates to less than declared, or whose CRC is wrong, is refused', async () => {
      const path = join(dir, 'short.zip');
      writeFileSync(path, craftZip([{ name: '1.json', data: doc(1), declaredSize: 500 }]));
      const short = await collectUntilError(path);
      assert.match(short.error.message, /entry "1\.json" inflates to \d+ bytes but declares 500/);
      writeFileSync(path, craftZip([{ name: '1.json', data: doc(1), crc: 0x12345678 }]));
      const corrupt = await collectUntilError(path);
      assert.equal(corrupt.error.code, 'ERR_CONNECTOR_MALFORMED');
      assert.match(corrupt.error.message, /short\.zip!\/1\.json: CRC-32 mismatch/);
    });

    test('an entry over the document cap fails with a cursor past it', async () => {
      const path = join(dir, 'big.zip');
      writeFileSync(
        path,
        craftZip([
          { name: '1.json', data: doc(1) },
          { name: '2.json', data: Buffer.alloc(300, 0x20) },
          { name: '3.json', data: doc(3) },
        ]),
      );
      const small = { ...LIMITS, documentBytes: 200 };
      const { documents, error } = await collectUntilError(path, { limits: small });
      assert.deepEqual(
        documents.map((x) => x.cursor),
        ['1.json'],
      );
      assert.equal(error.code, 'ERR_CONNECTOR_TOO_LARGE');
      assert.equal(error.cursor, '2.json');
      const rest = await collect(path, { limits: small, cursor: error.cursor! });
      assert.deepEqual(
        rest.map((x) => x.cursor),
        ['3.json'],
      );
    });

    test('a file that is not a zip is malformed, not hostile', async () => {
      const path = join(dir, 'not.zip');
      writeFileSync(path, '{"id":"x"}');
      const { error } = await collectUntilError(path);
      assert.equal(error.code, 'ERR_CONNECTOR_MALFORMED');
      assert.equal((await collectUntilError(join(dir, 'missing.zip'))).error.code, 'ERR_CONNECTOR_INPUT');
    });

    test('a compressed size far beyond the inflated size is refused before it is buffered', async () => {
      const path = join(dir, 'fat.zip');
      const zip = craftZip([{ name: 'a.json', data: doc(1), stored: true }]);
      // Patch the central directory's compressed size to 1 MiB for a 46-byte entry.
      const central = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
      zip.writeUInt32LE(1024 * 1024, central + 20);
      writeFileSync(path, zip);
      const { error } = await collectUntilError(path);
      assert.equal(error.code, 'ERR_CONNECTOR_HOSTILE_ARCHIVE');
      assert.match(error.message, /entry "a\.json" declares 1048576 compressed bytes for \d+ inflated/);
    });

    describe('over HTTP', () => {
      let server: Server;
      let base: string;
      before(async () => {
        server = createServer((req, res) => {
          if (req.url === '/Go/all.zip') {
            res.writeHead(200, { 'content-type': 'application/zip' });
            res.end(readFileSync(archive));
          } else {
            res.writeHead(404);
            res.end();
          }
        });
        await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      });
      after(() => new Promise<void>((closed) => server.close(() => closed())));

      test('downloads the archive and streams it like a local one', async () => {
        const docs = await collect(`${base}/Go/all.zip`);
        assert.deepEqual(
          docs.map((x) => x.cursor),
          names,
        );
        assert.equal(docs[0]!.location, `${base}/Go/all.zip!/${names[0]}`);
        assert.deepEqual(Buffer.from(docs[0]!.bytes), readFileSync(new URL(names[0]!, OSV_GO)));
      });

      test('a missing archive is an input error', async () => {
        const { error } = await collectUntilError(`${base}/PyPI/all.zip`);
        assert.equal(error.code, 'ERR_CONNECTOR_INPUT');
      });
    });
  });
