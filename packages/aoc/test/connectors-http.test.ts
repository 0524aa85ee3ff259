// SPDX-License-Identifier: Apache-2.0
// The http and csaf connectors against a real node:http server on 127.0.0.1 serving a temp tree:
// index.txt listings with sidecars, gzip transfer encoding, retries and their limit, timeouts, size
// caps, and the CSAF provider-metadata → ROLIE / changes.csv / index.txt paths built from the OASIS
// examples (only the URLs in our copies of the metadata and feed are rewritten to the server).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { advisoryFixturesUrl } from '@stella/testkit';
import * as openpgp from 'openpgp';
import type { ProviderKey } from '../src/connectors/csaf-keys.ts';
import { connectorFor, fetchProviderKeys } from '../src/connectors/index.ts';
import type { FetchedDocument, FetchOptions, FetchSkip } from '../src/connectors/types.ts';
import { verifyDetachedPgp } from '../src/signatures/pgp.ts';
import { checkDeclaredDigest } from '../src/signatures/policy.ts';
import { drain, fetchOptions, rejection } from './connector-kit.ts';

const EXAMPLES = new URL('csaf/oasis-csaf-2.0-examples/', advisoryFixturesUrl());
const csafDoc = (name: string) => readFileSync(new URL(`csaf/${name}`, EXAMPLES));
const FAST = { http: { retries: 2, backoffMs: 1, timeoutMs: 5_000 } };

type Behaviour = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Serves `root` as static files; `behaviours` can take over a path (503s, gzip, stalls…). */
class TestServer {
  server: Server;
  root: string;
  base = '';
  requests = new Map<string, number>();
  behaviours = new Map<string, Behaviour>();

  constructor(root: string) {
    this.root = root;
    this.server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      this.requests.set(path, (this.requests.get(path) ?? 0) + 1);
      const behaviour = this.behaviours.get(path);
      if (behaviour?.(req, res)) return;
      const file = join(this.root, normalize(path));
      try {
        const body = readFileSync(file);
        res.writeHead(200, { 'content-length': body.length });
        res.end(body);
      } catch {
        res.writeHead(404);
        res.end();
      }
    });
  }
  async start(): Promise<void> {
    await new Promise<void>((ready) => this.server.listen(0, '127.0.0.1', ready));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((closed) => this.server.close(() => closed()));
  }
  reset(): void {
    this.requests.clear();
    this.behaviours.clear();
  }
  put(path: string, body: string | Buffer): void {
    mkdirSync(dirname(join(this.root, path)), { recursive: true });
    writeFileSync(join(this.root, path), body);
  }
}

const LIMITS = fetchOptions('', {}, 4 * 1024 * 1024).limits;
const options = (input: string, extra: Partial<FetchOptions> = {}) => fetchOptions(input, extra, 4 * 1024 * 1024);

const collect = (kind: 'http' | 'csaf', input: string, extra: Partial<FetchOptions> = {}, stopAfter = Infinity) =>
  drain(connectorFor(kind, FAST), options(input, extra), stopAfter);

const sha = (algorithm: 'sha256' | 'sha512', bytes: Buffer) => createHash(algorithm).update(bytes).digest('hex');

let server: TestServer;
let root: string;
before(async () => {
  root = mkdtempSync(join(tmpdir(), 'stella-http-connector-'));
  server = new TestServer(root);
  await server.start();
});
after(async () => {
  await server.stop();
  rmSync(root, { recursive: true, force: true });
});
beforeEach(() => server.reset());

describe('http connector (index.txt)', () => {
  before(() => {
    server.put(
      'mirror/index.txt',
      [
        '# CSAF documents',
        '2022/bsi-2022-0001.json',
        '',
        '2018/cisco-sa-20180328-smi2.json',
        'rhsa-2019_1862.json.gz',
        'rhsa-2021_5186.json',
        'changes.csv',
        '../outside.json',
        'https://elsewhere.invalid/x.json',
      ].join('\n'),
    );
    server.put('mirror/2022/bsi-2022-0001.json', csafDoc('bsi-2022-0001.json'));
    server.put(
      'mirror/2022/bsi-2022-0001.json.asc',
      '-----BEGIN PGP SIGNATURE-----\nstub\n-----END PGP SIGNATURE-----\n',
    );
    server.put(
      'mirror/2022/bsi-2022-0001.json.sha256',
      `${sha('sha256', csafDoc('bsi-2022-0001.json'))}  bsi-2022-0001.json\n`,
    );
    server.put('mirror/2018/cisco-sa-20180328-smi2.json', csafDoc('cisco-sa-20180328-smi2.json'));
    server.put('mirror/2018/cisco-sa-20180328-smi2.json.sha512', sha('sha512', csafDoc('cisco-sa-20180328-smi2.json')));
    server.put('mirror/rhsa-2019_1862.json.gz', gzipSync(csafDoc('rhsa-2019_1862.json')));
    server.put('mirror/rhsa-2021_5186.json', csafDoc('rhsa-2021_5186.json'));
  });

  test('fetches every listed document in sorted order with its sidecars; absent sidecars are absent', async () => {
    const skipped: FetchSkip[] = [];
    const docs = await collect('http', `${server.base}/mirror/`, { onSkip: (s) => skipped.push(s) });
    assert.deepEqual(
      docs.map((d) => d.cursor),
      ['2018/cisco-sa-20180328-smi2.json', '2022/bsi-2022-0001.json', 'rhsa-2019_1862.json.gz', 'rhsa-2021_5186.json'],
    );
    for (const d of docs) {
      assert.equal(d.location, `${server.base}/mirror/${d.cursor}`);
      const name = d.cursor.split('/').pop()!.replace(/\.gz$/, '');
      assert.deepEqual(Buffer.from(d.bytes), csafDoc(name), d.cursor);
      assert.equal(d.retrievedAt, '2026-11-25T12:00:00.000Z');
    }
    const [cisco, bsi, gz, rhsa] = docs as [FetchedDocument, FetchedDocument, FetchedDocument, FetchedDocument];
    assert.equal(bsi.signature?.format, 'pgp');
    assert.equal(bsi.signature?.location, `${server.base}/mirror/2022/bsi-2022-0001.json.asc`);
    assert.deepEqual(bsi.declaredDigest, {
      algorithm: 'sha256',
      hex: sha('sha256', csafDoc('bsi-2022-0001.json')),
      location: `${server.base}/mirror/2022/bsi-2022-0001.json.sha256`,
    });
    assert.equal(cisco.signature, undefined);
    assert.equal(cisco.declaredDigest?.algorithm, 'sha512');
    assert.equal(checkDeclaredDigest(cisco.bytes, cisco.declaredDigest!).ok, true);
    assert.equal(gz.declaredDigest, undefined);
    assert.equal(rhsa.signature, undefined);
    assert.deepEqual(
      skipped.map((s) => s.location),
      ['changes.csv', '../outside.json', 'https://elsewhere.invalid/x.json'],
    );
    // Sidecars of the gz are looked up for the JSON it holds.
    assert.equal(server.requests.get('/mirror/rhsa-2019_1862.json.asc'), 1);
  });

  test('resumes from a cursor with exactly the rest and fetches nothing before it', async () => {
    const all = await collect('http', `${server.base}/mirror/index.txt`);
    const first = await collect('http', `${server.base}/mirror`, {}, 2);
    server.reset();
    const rest = await collect('http', `${server.base}/mirror`, { cursor: first.at(-1)!.cursor });
    assert.deepEqual(
      [...first, ...rest].map((d) => d.cursor),
      all.map((d) => d.cursor),
    );
    assert.equal(server.requests.get('/mirror/2018/cisco-sa-20180328-smi2.json'), undefined);
  });

  test('undoes gzip Content-Encoding: the record is the JSON', async () => {
    const original = csafDoc('rhsa-2021_5186.json');
    server.behaviours.set('/mirror/rhsa-2021_5186.json', (req, res) => {
      assert.match(String(req.headers['accept-encoding']), /gzip/);
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'application/json' });
      res.end(gzipSync(original));
      return true;
    });
    const docs = await collect('http', `${server.base}/mirror/`, { cursor: 'rhsa-2019_1862.json.gz' });
    assert.equal(docs.length, 1);
    assert.deepEqual(Buffer.from(docs[0]!.bytes), original);
  });

  test('retries 5xx and dropped connections with backoff, then succeeds', async () => {
    let failures = 0;
    server.behaviours.set('/mirror/rhsa-2021_5186.json', (req, res) => {
      failures++;
      if (failures === 1) {
        res.writeHead(503);
        res.end();
        return true;
      }
      if (failures === 2) {
        req.socket.destroy();
        return true;
      }
      return false;
    });
    const docs = await collect('http', `${server.base}/mirror/`, { cursor: 'rhsa-2019_1862.json.gz' });
    assert.deepEqual(Buffer.from(docs[0]!.bytes), csafDoc('rhsa-2021_5186.json'));
    assert.equal(server.requests.get('/mirror/rhsa-2021_5186.json'), 3);
  });

  test('gives up after the bounded retries with the cursor of the failed document', async () => {
    server.behaviours.set('/mirror/rhsa-2021_5186.json', (_req, res) => {
      res.writeHead(502);
      res.end();
      return true;
    });
    const err = await rejection(collect('http', `${server.base}/mirror/`, { cursor: 'rhsa-2019_1862.json.gz' }));
    assert.equal(err.code, 'ERR_CONNECTOR_HTTP');
    assert.match(err.message, /HTTP 502; gave up after 3 attempts/);
    assert.equal(err.cursor, 'rhsa-2021_5186.json');
    assert.equal(server.requests.get('/mirror/rhsa-2021_5186.json'), 3);
  });

  test('a 403 is not retried', async () => {
    server.behaviours.set('/mirror/index.txt', (_req, res) => {
      res.writeHead(403);
      res.end();
      return true;
    });
    const err = await rejection(collect('http', `${server.base}/mirror/`));
    assert.match(err.message, /index\.txt: HTTP 403/);
    assert.equal(server.requests.get('/mirror/index.txt'), 1);
  });

  test('a stalled response times out', async () => {
    server.behaviours.set('/mirror/index.txt', () => true); // never answers
    const docs = connectorFor('http', { http: { timeoutMs: 150, retries: 1, backoffMs: 1 } }).fetch(
      options(`${server.base}/mirror/`),
    );
    const err = await rejection(
      (async () => {
        for await (const _ of docs);
      })(),
    );
    assert.match(err.message, /timed out after 150 ms; gave up after 2 attempts/);
  });

  test('a body over the cap is cut off while streaming, with or without Content-Length', async () => {
    const huge = Buffer.alloc(2 * 1024 * 1024, 0x20);
    server.behaviours.set('/mirror/rhsa-2021_5186.json', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }); // chunked, no length
      res.write(huge);
      res.write(huge); // never finished; the client must stop reading
      return true;
    });
    const limits = { ...LIMITS, documentBytes: 1024 * 1024 };
    const err = await rejection(
      collect('http', `${server.base}/mirror/`, { cursor: 'rhsa-2019_1862.json.gz', limits }),
    );
    assert.equal(err.code, 'ERR_CONNECTOR_TOO_LARGE');
    assert.match(err.message, /response exceeds the cap of 1048576 bytes/);
    assert.equal(err.cursor, 'rhsa-2021_5186.json');

    server.behaviours.set('/mirror/rhsa-2021_5186.json', (_req, res) => {
      res.writeHead(200, { 'content-length': huge.length });
      res.end(huge);
      return true;
    });
    const declared = await rejection(
      collect('http', `${server.base}/mirror/`, { cursor: 'rhsa-2019_1862.json.gz', limits }),
    );
    assert.match(declared.message, /Content-Length 2097152 exceeds the cap/);

    // A gzip-encoded bomb is capped on the decoded bytes.
    server.behaviours.set('/mirror/rhsa-2021_5186.json', (_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' });
      res.end(gzipSync(Buffer.concat([huge, huge])));
      return true;
    });
    const bomb = await rejection(
      collect('http', `${server.base}/mirror/`, { cursor: 'rhsa-2019_1862.json.gz', limits }),
    );
    assert.equal(bomb.code, 'ERR_CONNECTOR_TOO_LARGE');
  });

  test("aborting during the retry backoff stops at once with the caller's reason", async () => {
    const controller = new AbortController();
    server.behaviours.set('/mirror/index.txt', (_req, res) => {
      res.writeHead(503);
      res.end();
      controller.abort(new Error('operator cancelled'));
      return true;
    });
    // A 10-minute backoff: the test only finishes because the abort cuts it short.
    const connector = connectorFor('http', { http: { retries: 3, backoffMs: 600_000, timeoutMs: 5_000 } });
    await assert.rejects(
      (async () => {
        for await (const _ of connector.fetch(options(`${server.base}/mirror/`, { signal: controller.signal })));
      })(),
      /operator cancelled/,
    );
    assert.equal(server.requests.get('/mirror/index.txt'), 1);
  });

  test('a base without index.txt is an input error', async () => {
    const err = await rejection(collect('http', `${server.base}/nothing-here/`));
    assert.equal(err.code, 'ERR_CONNECTOR_INPUT');
  });
});

describe('csaf connector', () => {
  let signingKey: openpgp.PrivateKey;
  let publicKey: string;
  const feedEntryPath = '/advisories/csaf/2020/2020-ESA-001.json';
  const esaBytes = csafDoc('bsi-2022-0001.json');

  before(async () => {
    const generated = await openpgp.generateKey({
      type: 'ecc',
      curve: 'ed25519Legacy',
      userIDs: [{ name: 'Example Company ProductCERT' }],
      format: 'object',
    });
    signingKey = generated.privateKey;
    publicKey = generated.publicKey.armor();
    const sign = async (bytes: Buffer) =>
      openpgp.sign({
        message: await openpgp.createMessage({ binary: bytes }),
        signingKeys: signingKey,
        detached: true,
        format: 'armored',
      });

    // The OASIS examples, with only their URLs pointed at the test server.
    const rewrite = (file: string) =>
      readFileSync(new URL(file, EXAMPLES), 'utf8')
        .replaceAll('https://www.example.com', server.base)
        .replaceAll('https://psirt.domain.tld', server.base);
    server.put(
      '.well-known/csaf/provider-metadata.json',
      rewrite('provider-metadata/example-01-provider-metadata.json'),
    );
    server.put('.well-known/csaf/feed-tlp-white.json', rewrite('ROLIE/example-01-feed-tlp-white.json'));
    // …and a fixture CSAF document at the path the feed references, with the hash and signature it links.
    server.put(feedEntryPath, esaBytes);
    server.put(`${feedEntryPath}.sha512`, `${sha('sha512', esaBytes)}  2020-ESA-001.json\n`);
    server.put(`${feedEntryPath}.asc`, await sign(esaBytes));

    // A provider with directory distribution: changes.csv (newest first, as CSAF §7.1.13 requires).
    const changes = [
      ['2022/bsi-2022-0001.json', '2022-03-17T13:03:42.105Z'],
      ['2021/rhsa-2021_5186.json', '2021-12-16T10:00:00Z'],
      ['2021/rhsa-2021_5186b.json', '2021-12-16T10:00:00Z'],
      ['2019/rhsa-2019_1862.json', '2019-07-30T00:00:00+02:00'],
      ['2018/cisco-sa-20180328-smi2.json', '2018-03-28T16:00:00Z'],
    ];
    for (const [path] of changes) {
      const name = path!.split('/').pop()!.replace('5186b', '5186');
      server.put(`dir-provider/csaf/${path}`, csafDoc(name));
      server.put(`dir-provider/csaf/${path}.asc`, await sign(csafDoc(name)));
    }
    server.put('dir-provider/csaf/changes.csv', changes.map(([p, t]) => `"${p}","${t}"`).join('\n'));
    server.put(
      'dir-provider/provider-metadata.json',
      JSON.stringify({
        canonical_url: `${server.base}/dir-provider/provider-metadata.json`,
        distributions: [{ directory_url: './csaf/' }],
        metadata_version: '2.0',
        role: 'csaf_trusted_provider',
      }),
    );
  });

  test('follows the OASIS provider-metadata → ROLIE feed example to the signed document', async () => {
    const metadataUrl = `${server.base}/.well-known/csaf/provider-metadata.json`;
    const docs = await collect('csaf', metadataUrl);
    assert.equal(docs.length, 1);
    const [doc] = docs as [FetchedDocument];
    assert.equal(doc.location, `${server.base}${feedEntryPath}`);
    assert.deepEqual(Buffer.from(doc.bytes), esaBytes);
    assert.equal(doc.cursor, `2021-01-01T12:00:00.000Z|${server.base}${feedEntryPath}`);
    assert.equal(doc.declaredDigest?.algorithm, 'sha512');
    assert.equal(doc.declaredDigest?.location, `${server.base}${feedEntryPath}.sha512`);
    assert.equal(checkDeclaredDigest(doc.bytes, doc.declaredDigest!).ok, true);
    assert.equal(doc.signature?.location, `${server.base}${feedEntryPath}.asc`);
    const verification = await verifyDetachedPgp(doc.bytes, doc.signature!.bytes, [publicKey]);
    assert.equal(verification.verified, true, verification.reason);
    // The feed's links were used: no sibling probing for .sha256.
    assert.equal(server.requests.get(`${feedEntryPath}.sha256`), undefined);
    // Resuming after the only entry yields nothing and fetches no document.
    server.reset();
    assert.deepEqual(await collect('csaf', metadataUrl, { cursor: doc.cursor }), []);
    assert.equal(server.requests.get(feedEntryPath), undefined);
  });

  test('directory distribution with changes.csv: timestamp order, exact resume, incremental runs', async () => {
    const metadataUrl = `${server.base}/dir-provider/provider-metadata.json`;
    const docs = await collect('csaf', metadataUrl);
    const csaf = `${server.base}/dir-provider/csaf/`;
    assert.deepEqual(
      docs.map((d) => d.cursor),
      [
        `2018-03-28T16:00:00.000Z|${csaf}2018/cisco-sa-20180328-smi2.json`,
        `2019-07-29T22:00:00.000Z|${csaf}2019/rhsa-2019_1862.json`,
        `2021-12-16T10:00:00.000Z|${csaf}2021/rhsa-2021_5186.json`,
        `2021-12-16T10:00:00.000Z|${csaf}2021/rhsa-2021_5186b.json`,
        `2022-03-17T13:03:42.105Z|${csaf}2022/bsi-2022-0001.json`,
      ],
    );
    for (const d of docs) {
      const name = d.location.split('/').pop()!.replace('5186b', '5186');
      assert.deepEqual(Buffer.from(d.bytes), csafDoc(name));
      assert.equal((await verifyDetachedPgp(d.bytes, d.signature!.bytes, [publicKey])).verified, true);
    }
    // Stop between the two documents that share a timestamp: nothing is skipped or repeated.
    for (const stop of [1, 3, 4]) {
      const first = await collect('csaf', metadataUrl, {}, stop);
      const rest = await collect('csaf', metadataUrl, { cursor: first.at(-1)!.cursor });
      assert.deepEqual(
        [...first, ...rest].map((d) => d.cursor),
        docs.map((d) => d.cursor),
        `stop ${stop}`,
      );
    }
    // The provider publishes an update: the next run with the last cursor fetches only it.
    const before = readFileSync(join(root, 'dir-provider/csaf/changes.csv'), 'utf8');
    try {
      server.put('dir-provider/csaf/changes.csv', `"2021/rhsa-2021_5186.json","2026-11-01T00:00:00Z"\n${before}`);
      const next = await collect('csaf', metadataUrl, { cursor: docs.at(-1)!.cursor });
      assert.deepEqual(
        next.map((d) => d.location),
        [`${csaf}2021/rhsa-2021_5186.json`],
      );
    } finally {
      server.put('dir-provider/csaf/changes.csv', before);
    }
  });

  test('directory distribution without changes.csv falls back to index.txt', async () => {
    server.put('index-provider/csaf/index.txt', 'b/rhsa-2019_1862.json\na/bsi-2022-0001.json\n');
    server.put('index-provider/csaf/a/bsi-2022-0001.json', csafDoc('bsi-2022-0001.json'));
    server.put('index-provider/csaf/b/rhsa-2019_1862.json', csafDoc('rhsa-2019_1862.json'));
    server.put(
      'index-provider/provider-metadata.json',
      JSON.stringify({ distributions: [{ directory_url: `${server.base}/index-provider/csaf` }] }),
    );
    const docs = await collect('csaf', `${server.base}/index-provider/provider-metadata.json`);
    assert.deepEqual(
      docs.map((d) => d.cursor),
      [
        `|${server.base}/index-provider/csaf/a/bsi-2022-0001.json`,
        `|${server.base}/index-provider/csaf/b/rhsa-2019_1862.json`,
      ],
    );
  });

  test('a local provider-metadata.json is read as files, relative to its directory', async () => {
    const local = mkdtempSync(join(tmpdir(), 'stella-csaf-local-'));
    try {
      mkdirSync(join(local, 'csaf', '2022'), { recursive: true });
      copyFileSync(new URL('csaf/bsi-2022-0001.json', EXAMPLES), join(local, 'csaf', '2022', 'bsi-2022-0001.json'));
      writeFileSync(
        join(local, 'csaf', '2022', 'bsi-2022-0001.json.sha256'),
        sha('sha256', csafDoc('bsi-2022-0001.json')),
      );
      writeFileSync(
        join(local, 'feed.json'),
        JSON.stringify({
          feed: {
            entry: [
              {
                id: 'BSI-2022-0001',
                updated: '2022-03-17T13:03:42.105Z',
                content: { type: 'application/json', src: 'csaf/2022/bsi-2022-0001.json' },
              },
            ],
          },
        }),
      );
      writeFileSync(
        join(local, 'provider-metadata.json'),
        JSON.stringify({ distributions: [{ rolie: { feeds: [{ url: 'feed.json' }] } }] }),
      );
      const docs = await collect('csaf', join(local, 'provider-metadata.json'));
      assert.equal(docs.length, 1);
      assert.equal(docs[0]!.location, 'csaf/2022/bsi-2022-0001.json');
      assert.deepEqual(Buffer.from(docs[0]!.bytes), csafDoc('bsi-2022-0001.json'));
      assert.equal(docs[0]!.declaredDigest?.location, 'csaf/2022/bsi-2022-0001.json.sha256');
      assert.equal(docs[0]!.signature, undefined);
    } finally {
      rmSync(local, { recursive: true, force: true });
    }
  });

  test('ROLIE and directory listing the same document hand it over once, with the feed links', async () => {
    server.put(
      'both/provider-metadata.json',
      JSON.stringify({
        distributions: [
          { directory_url: `${server.base}/dir-provider/csaf/` },
          { rolie: { feeds: [{ url: `${server.base}/both/feed.json` }] } },
        ],
      }),
    );
    server.put(
      'both/feed.json',
      JSON.stringify({
        feed: {
          entry: [
            {
              updated: '2022-03-17T13:03:42.105Z',
              content: { src: `${server.base}/dir-provider/csaf/2022/bsi-2022-0001.json` },
              link: [{ rel: 'hash', href: `${server.base}/both/bsi.sha256` }],
            },
          ],
        },
      }),
    );
    server.put('both/bsi.sha256', sha('sha256', csafDoc('bsi-2022-0001.json')));
    const docs = await collect('csaf', `${server.base}/both/provider-metadata.json`);
    const bsi = docs.filter((d) => d.location.endsWith('bsi-2022-0001.json'));
    assert.equal(docs.length, 5);
    assert.equal(bsi.length, 1);
    assert.equal(bsi[0]!.declaredDigest?.location, `${server.base}/both/bsi.sha256`);
  });

  test('provider keys are pinned by the announced fingerprint', async () => {
    const fingerprint = signingKey.getFingerprint().toUpperCase();
    server.put(`keys/${fingerprint}.asc`, publicKey);
    server.put(
      'keyed/provider-metadata.json',
      JSON.stringify({
        role: 'csaf_trusted_provider',
        distributions: [{ directory_url: './csaf/' }],
        public_openpgp_keys: [
          { fingerprint: fingerprint.replace(/(.{4})/g, '$1 '), url: `/keys/${fingerprint}.asc` },
          { fingerprint: '8F5F267907B2C4559DB360DB2294BA7D2B2298B1', url: `/keys/${fingerprint}.asc` },
          { fingerprint: '0000000000000000000000000000000000000000', url: '/keys/missing.asc' },
          { url: `/keys/${fingerprint}.asc` },
        ],
      }),
    );
    const trust = await fetchProviderKeys(
      { input: `${server.base}/keyed/provider-metadata.json`, limits: LIMITS },
      FAST.http,
    );
    assert.equal(trust.role, 'csaf_trusted_provider');
    const [good, impostor, missing, unpinned] = trust.keys as [ProviderKey, ProviderKey, ProviderKey, ProviderKey];
    assert.equal(good.fingerprint, fingerprint);
    assert.equal(good.reason, undefined);
    assert.equal(
      (await verifyDetachedPgp(esaBytes, readFileSync(join(root, `${feedEntryPath}.asc`)), [good.armored!])).verified,
      true,
    );
    assert.equal(impostor.armored, undefined);
    assert.match(impostor.reason ?? '', new RegExp(`has fingerprint ${fingerprint}, not the announced 8F5F2679`));
    assert.match(missing.reason ?? '', /not found/);
    assert.match(unpinned.reason ?? '', /cannot be pinned/);
  });

  test('a remote listing cannot reach local files, nor a local one files outside its directory', async () => {
    server.put('sneaky/provider-metadata.json', JSON.stringify({ distributions: [{ directory_url: 'file:///etc/' }] }));
    const remote = await rejection(collect('csaf', `${server.base}/sneaky/provider-metadata.json`));
    assert.equal(remote.code, 'ERR_CONNECTOR_INPUT');
    assert.match(remote.message, /may not point at local files/);

    const local = mkdtempSync(join(tmpdir(), 'stella-csaf-escape-'));
    try {
      mkdirSync(join(local, 'provider'));
      writeFileSync(join(local, 'secret.json'), '{"secret":true}');
      writeFileSync(
        join(local, 'provider', 'feed.json'),
        JSON.stringify({ feed: { entry: [{ updated: '2022-01-01T00:00:00Z', content: { src: '../secret.json' } }] } }),
      );
      writeFileSync(
        join(local, 'provider', 'provider-metadata.json'),
        JSON.stringify({ distributions: [{ rolie: { feeds: [{ url: 'feed.json' }] } }] }),
      );
      const escaped = await rejection(collect('csaf', join(local, 'provider', 'provider-metadata.json')));
      assert.equal(escaped.code, 'ERR_CONNECTOR_INPUT');
      assert.match(escaped.message, /secret\.json: outside .*; not read/);
    } finally {
      rmSync(local, { recursive: true, force: true });
    }
    assert.equal((await rejection(collect('http', '/var/lib/mirror'))).code, 'ERR_CONNECTOR_INPUT');
  });

  test('unreadable metadata, a feed without entries array and a foreign cursor are refused', async () => {
    server.put('bad/provider-metadata.json', '{"distributions": "nope"');
    assert.equal(
      (await rejection(collect('csaf', `${server.base}/bad/provider-metadata.json`))).code,
      'ERR_CONNECTOR_METADATA',
    );
    server.put('bad2/provider-metadata.json', JSON.stringify({ distributions: [] }));
    assert.match(
      (await rejection(collect('csaf', `${server.base}/bad2/provider-metadata.json`))).message,
      /no distributions/,
    );
    server.put(
      'bad3/provider-metadata.json',
      JSON.stringify({ distributions: [{ rolie: { feeds: [{ url: 'f.json' }] } }] }),
    );
    server.put('bad3/f.json', JSON.stringify({ feed: { entry: {} } }));
    assert.match(
      (await rejection(collect('csaf', `${server.base}/bad3/provider-metadata.json`))).message,
      /"feed\.entry" is not an array/,
    );
    assert.equal(
      (await rejection(collect('csaf', `${server.base}/missing/provider-metadata.json`))).code,
      'ERR_CONNECTOR_METADATA',
    );
    const cursor = await rejection(
      collect('csaf', `${server.base}/.well-known/csaf/provider-metadata.json`, { cursor: 'GO-2020-0050.json' }),
    );
    assert.equal(cursor.code, 'ERR_CONNECTOR_CURSOR');
  });
});
