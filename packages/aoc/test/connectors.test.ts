// SPDX-License-Identifier: Apache-2.0
// The directory connector over real OSV fixtures laid out in a temp tree: sorted order, sidecars,
// gzip, bookkeeping files and symlinks skipped, exact resume from a cursor, and bad input; plus
// the kind detection the CLI relies on.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
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
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { advisoryFixturesUrl } from '@stella/testkit';
import { connectorFor, detectConnector } from '../src/connectors/index.ts';
import type { FetchOptions, FetchSkip } from '../src/connectors/types.ts';
import { drain, fetchOptions, rejection } from './connector-kit.ts';

const OSV_GO = new URL('osv-go/current/', advisoryFixturesUrl());

const LIMITS = fetchOptions('').limits;
const options = (input: string, extra: Partial<FetchOptions> = {}) => fetchOptions(input, extra);

const collect = (input: string, extra: Partial<FetchOptions> = {}, stopAfter = Infinity) =>
  drain(connectorFor('directory'), options(input, extra), stopAfter);

const fixture = (name: string) => readFileSync(new URL(name, OSV_GO));

describe('directory connector', () => {
  let root: string;
  let outside: string;
  const names = readdirSync(OSV_GO)
    .filter((n) => n.endsWith('.json'))
    .sort()
    .slice(0, 6);
  const [a, b, c, d, e, f] = names as [string, string, string, string, string, string];

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'stella-dir-connector-'));
    outside = mkdtempSync(join(tmpdir(), 'stella-dir-outside-'));
    mkdirSync(join(root, 'go', 'nested'), { recursive: true });
    copyFileSync(new URL(a, OSV_GO), join(root, a));
    copyFileSync(new URL(b, OSV_GO), join(root, 'go', b));
    writeFileSync(join(root, 'go', 'nested', `${c}.gz`), gzipSync(fixture(c)));
    copyFileSync(new URL(d, OSV_GO), join(root, 'go', 'nested', d));
    // Sidecars of b: a signature and both digests (sha512 wins), in sha256sum format.
    writeFileSync(join(root, 'go', `${b}.asc`), '-----BEGIN PGP SIGNATURE-----\n\nstub\n-----END PGP SIGNATURE-----\n');
    writeFileSync(join(root, 'go', `${b}.sha256`), `${createHash('sha256').update(fixture(b)).digest('hex')}  ${b}\n`);
    writeFileSync(join(root, 'go', `${b}.sha512`), `${createHash('sha512').update(fixture(b)).digest('hex')}  ${b}\n`);
    // A sidecar of the gzip's JSON is attached to the .json.gz document.
    writeFileSync(join(root, 'go', 'nested', `${c}.sha256`), createHash('sha256').update(fixture(c)).digest('hex'));
    // Bookkeeping and non-documents are not handed over.
    writeFileSync(join(root, 'MANIFEST.json'), '{}');
    writeFileSync(join(root, 'PROVENANCE.json'), '{}');
    writeFileSync(join(root, 'LICENSE.json'), '{}');
    writeFileSync(join(root, 'README.md'), '# hi');
    writeFileSync(join(root, 'notes.txt'), 'x');
    // Symlinks: one into the root (followed), one out of it and one dangling (skipped), one to a directory.
    copyFileSync(new URL(e, OSV_GO), join(outside, e));
    symlinkSync(join(outside, e), join(root, 'escape.json'));
    symlinkSync(join(root, a), join(root, 'go', 'alias.json'));
    symlinkSync(join(root, 'missing.json'), join(root, 'dangling.json'));
    symlinkSync(join(root, 'go'), join(root, 'go-link'));
    copyFileSync(new URL(f, OSV_GO), join(root, 'go', f));
  });
  after(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  test('hands over documents in sorted path order with exact bytes, sidecars and the clock', async () => {
    const skipped: FetchSkip[] = [];
    const progress: { done: number; total?: number }[] = [];
    const docs = await collect(root, {
      onSkip: (s) => skipped.push(s),
      onProgress: ({ done, total }) => progress.push({ done, total }),
    });
    assert.deepEqual(
      docs.map((x) => x.location),
      [a, 'go/alias.json', `go/${b}`, `go/${f}`, `go/nested/${c}.gz`, `go/nested/${d}`].sort(),
    );
    for (const doc of docs) {
      const source = doc.location === 'go/alias.json' ? a : doc.location.split('/').pop()!.replace(/\.gz$/, '');
      assert.deepEqual(Buffer.from(doc.bytes), fixture(source), doc.location);
      assert.equal(doc.cursor, doc.location);
      assert.equal(doc.retrievedAt, '2026-11-25T12:00:00.000Z');
    }
    const withSidecars = docs.find((x) => x.location === `go/${b}`)!;
    assert.equal(withSidecars.signature?.format, 'pgp');
    assert.equal(withSidecars.signature?.location, `go/${b}.asc`);
    assert.match(Buffer.from(withSidecars.signature!.bytes).toString(), /BEGIN PGP SIGNATURE/);
    assert.deepEqual(withSidecars.declaredDigest, {
      algorithm: 'sha512',
      hex: createHash('sha512').update(fixture(b)).digest('hex'),
      location: `go/${b}.sha512`,
    });
    const gz = docs.find((x) => x.location.endsWith('.gz'))!;
    assert.equal(gz.declaredDigest?.algorithm, 'sha256');
    assert.equal(gz.declaredDigest?.hex, createHash('sha256').update(fixture(c)).digest('hex'));
    assert.equal(docs.find((x) => x.location === a)!.signature, undefined);
    assert.deepEqual(
      skipped.map((s) => s.location).sort(),
      ['dangling.json', 'escape.json', 'go-link'],
      JSON.stringify(skipped),
    );
    assert.match(skipped.find((s) => s.location === 'escape.json')!.reason, /outside the input root/);
    assert.deepEqual(
      progress,
      docs.map((_, i) => ({ done: i + 1, total: docs.length })),
    );
  });

  test('resuming from a cursor yields exactly the rest, for every stop point', async () => {
    const all = (await collect(root)).map((x) => x.location);
    for (let stop = 1; stop < all.length; stop++) {
      const first = await collect(root, {}, stop);
      const rest = await collect(root, { cursor: first.at(-1)!.cursor });
      assert.deepEqual(
        [...first, ...rest].map((x) => x.location),
        all,
        `stop after ${stop}`,
      );
    }
    assert.deepEqual(await collect(root, { cursor: all.at(-1)! }), []);
  });

  test('a single file is read with its own sidecars only', async () => {
    const docs = await collect(join(root, 'go', b));
    assert.equal(docs.length, 1);
    assert.equal(docs[0]!.location, b);
    assert.equal(docs[0]!.signature?.location, `${b}.asc`);
    assert.equal(docs[0]!.declaredDigest?.location, `${b}.sha512`);
    assert.deepEqual(Buffer.from(docs[0]!.bytes), fixture(b));
  });

  test('a DSSE envelope is handed over as published with itself as the signature', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stella-dir-dsse-'));
    try {
      const envelope = JSON.stringify({ payloadType: 'application/vnd.in-toto+json', payload: 'e30=', signatures: [] });
      writeFileSync(join(dir, 'vex.intoto.json'), envelope);
      const [doc] = await collect(dir);
      assert.equal(doc?.signature?.format, 'dsse');
      assert.equal(Buffer.from(doc!.signature!.bytes).toString(), envelope);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a document over the cap fails with a cursor that resumes past it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stella-dir-big-'));
    try {
      writeFileSync(join(dir, '1.json'), '{}');
      writeFileSync(join(dir, '2.json'), `{"pad":"${'x'.repeat(200)}"}`);
      writeFileSync(join(dir, '3.json'), '{}');
      const small = { ...LIMITS, documentBytes: 100 };
      const seen: string[] = [];
      const err = await rejection(
        (async () => {
          for await (const doc of connectorFor('directory').fetch(options(dir, { limits: small })))
            seen.push(doc.location);
        })(),
      );
      assert.deepEqual(seen, ['1.json']);
      assert.equal(err.code, 'ERR_CONNECTOR_TOO_LARGE');
      assert.equal(err.location, '2.json');
      assert.match(err.message, /2\.json: 2\d\d bytes exceeds the cap of 100/);
      const rest = await collect(dir, { limits: small, cursor: err.cursor! });
      assert.deepEqual(
        rest.map((x) => x.location),
        ['3.json'],
      );
      // A gzip bomb is cut at the document cap, not inflated.
      writeFileSync(join(dir, '4.json.gz'), gzipSync(Buffer.alloc(10_000, 0x20)));
      const bomb = await rejection(collect(dir, { limits: { ...LIMITS, documentBytes: 1000 }, cursor: '3.json' }));
      assert.equal(bomb.code, 'ERR_CONNECTOR_TOO_LARGE');
      assert.match(bomb.message, /4\.json\.gz: gzip expands beyond the document cap of 1000/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a truncated gzip and a missing input are refused with their codes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stella-dir-gz-'));
    try {
      const gz = gzipSync(fixture(a));
      writeFileSync(join(dir, 'x.json.gz'), gz.subarray(0, gz.length - 20));
      const err = await rejection(collect(dir));
      assert.equal(err.code, 'ERR_CONNECTOR_MALFORMED');
      assert.match(err.message, /x\.json\.gz: not a readable gzip stream/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal((await rejection(collect(join(root, 'does-not-exist')))).code, 'ERR_CONNECTOR_INPUT');
    assert.equal((await rejection(collect(join(root, 'README.md')))).code, 'ERR_CONNECTOR_INPUT');
  });

  test('an aborted signal stops the walk', async () => {
    const controller = new AbortController();
    controller.abort(new Error('operator cancelled'));
    await assert.rejects(collect(root, { signal: controller.signal }), /operator cancelled/);
  });
});

test('every fixture document is handed over byte for byte (sha256 as in MANIFEST.tsv)', async () => {
  const fixtures = advisoryFixturesUrl();
  const manifest = new Map(
    readFileSync(new URL('MANIFEST.tsv', fixtures), 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split('\t'))
      .map(([path, , hash]) => [path!, hash!]),
  );
  const docs = await collect(fileURLToPath(fixtures), { limits: { ...LIMITS, documentBytes: 16 * 1024 * 1024 } });
  const expected = [...manifest.keys()].filter(
    (p) => p.endsWith('.json') && !/^(licen[cs]e|notice|readme|manifest|provenance)/i.test(p.split('/').pop()!),
  );
  assert.deepEqual(
    docs.map((d) => d.location),
    [...expected].sort(),
  );
  for (const doc of docs)
    assert.equal(createHash('sha256').update(doc.bytes).digest('hex'), manifest.get(doc.location), doc.location);
});

test('version-control directories are not walked', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stella-dir-git-'));
  try {
    mkdirSync(join(dir, '.git', 'objects'), { recursive: true });
    writeFileSync(join(dir, '.git', 'objects', 'pack.json'), '{}');
    mkdirSync(join(dir, '.well-known', 'csaf'), { recursive: true });
    writeFileSync(join(dir, '.well-known', 'csaf', 'a.json'), '{}');
    const skipped: FetchSkip[] = [];
    const docs = await collect(dir, { onSkip: (s) => skipped.push(s) });
    assert.deepEqual(
      docs.map((d) => d.location),
      ['.well-known/csaf/a.json'],
    );
    assert.deepEqual(skipped, [{ location: '.git', reason: 'version-control metadata not read' }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('detectConnector picks the connector from the input', () => {
  assert.equal(detectConnector('/data/osv/all.zip'), 'osv-zip');
  assert.equal(detectConnector('https://osv-vulnerabilities.storage.googleapis.com/Go/all.zip'), 'osv-zip');
  assert.equal(detectConnector('https://example.com/.well-known/csaf/provider-metadata.json'), 'csaf');
  assert.equal(detectConnector('./mirror/provider-metadata.json'), 'csaf');
  assert.equal(detectConnector('https://example.com/advisories/csaf/'), 'http');
  assert.equal(detectConnector('HTTP://example.com/x'), 'http');
  assert.equal(detectConnector('../shared/fixtures/advisories/osv-go/current'), 'directory');
  assert.equal(detectConnector('./provider-metadata.json.bak'), 'directory');
  for (const kind of ['directory', 'osv-zip', 'http', 'csaf'] as const) {
    const connector = connectorFor(kind);
    assert.equal(connector.name, kind);
    assert.match(connector.version, /^\d+\.\d+\.\d+$/);
  }
});
