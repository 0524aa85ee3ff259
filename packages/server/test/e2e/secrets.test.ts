// Issue 11, "keys cannot be read off disk" and "exposure", against a real server: $STELLA_HOME and
// everything PGlite writes are private to the owner; no private key is found in the database files or
// rows; a wrong or missing KEK stops start-up with its code; /metrics needs metrics:read (or its own
// listener) and caller-chosen labels are bounded; `stella config show` prints no secret; a /token
// guesser slows only itself.
import assert from 'node:assert/strict';
import { createPrivateKey, type JsonWebKey } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { makeProgram } from '@stella/cli';
import {
  createLogger,
  createSigningKeyStore,
  generateKeyEncryptionKeyText,
  parseKeyEncryptionKey,
} from '@stella/platform';
import { testBackend } from '@stella/testkit';
import { prepareHome } from '../../src/home.ts';
import { loadServerConfig, type RunningServer, startServer } from '../../src/index.ts';
import { capture, clientToken, newDatabaseUrl } from '../helpers.ts';

const FORM = 'application/x-www-form-urlencoded';

/** Every entry under `root` (not following links) with its mode. */
function modes(root: string): { path: string; dir: boolean; mode: number }[] {
  const out: { path: string; dir: boolean; mode: number }[] = [];
  const walk = (path: string) => {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return;
    out.push({ path: relative(root, path) || '.', dir: stat.isDirectory(), mode: stat.mode & 0o7777 });
    if (stat.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(root);
  return out;
}

function assertPrivate(root: string, when: string): number {
  const entries = modes(root);
  const loose = entries.filter((e) => e.mode !== (e.dir ? 0o700 : 0o600) && (e.mode & 0o7077) !== 0);
  assert.deepEqual(
    loose.slice(0, 10).map((e) => `${e.path} ${e.mode.toString(8)}`),
    [],
    `${when}: ${loose.length} entries readable by others`,
  );
  return entries.length;
}

/** auth.kek from the environment: STELLA_KEK (its documented alias) and the generated STELLA_AUTH_KEK. */
function kekEnv(kek: string): Record<string, string> {
  return { STELLA_KEK: kek, STELLA_AUTH_KEK: kek };
}

function files(root: string): string[] {
  return modes(root)
    .filter((e) => !e.dir)
    .map((e) => join(root, e.path));
}

interface Started {
  server: RunningServer;
  logs: string[];
}

describe(`secrets at rest and exposure on ${testBackend()}`, () => {
  const database = { url: undefined as string | undefined, drop: async () => {} };
  let home: string;
  let running: Started;
  let admin: { clientId: string; clientSecret: string };

  const envFor = (extra: Record<string, string> = {}) => ({
    STELLA_HOME: home,
    STELLA_SERVER_PORT: '0',
    STELLA_LOG_LEVEL: 'info',
    STELLA_SERVER_DOCS_UI: 'false',
    // A fixed issuer, so tokens stay valid across restarts on a new port.
    STELLA_SERVER_PUBLIC_URL: 'http://stella.issue11.test',
    ...(database.url ? { STELLA_DATABASE_URL: database.url } : {}),
    ...extra,
  });
  const start = async (extra: Record<string, string> = {}): Promise<Started> => {
    const logs: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, callback) {
        logs.push(String(chunk));
        callback();
      },
    });
    const server = await startServer({
      config: loadServerConfig({ env: envFor(extra) }).config,
      logger: createLogger({ level: 'info', destination }),
    });
    return { server, logs };
  };
  /** The error a start fails with; a start that succeeds is stopped (no server left running) and gives undefined. */
  const refusal = async (extra: Record<string, string> = {}) => {
    try {
      await (await start(extra)).server.close();
      return undefined;
    } catch (error) {
      return error as { code?: string; message: string };
    }
  };
  const base = () => running.server.url;
  const token = (scope?: string) => clientToken(base(), admin.clientId, admin.clientSecret, { scope });

  before(async () => {
    Object.assign(database, await newDatabaseUrl());
    // The probe's situation: a home that already exists, world-readable, with a readable file in it.
    home = join(mkdtempSync(join(tmpdir(), 'stella-issue11-')), 'home');
    mkdirSync(join(home, 'notes'), { recursive: true });
    chmodSync(home, 0o755);
    chmodSync(join(home, 'notes'), 0o755);
    writeFileSync(join(home, 'notes', 'runbook.txt'), 'kept\n', { mode: 0o644 });
    chmodSync(join(home, 'notes', 'runbook.txt'), 0o644);
    running = await start();
    admin = JSON.parse(readFileSync(join(home, 'credentials.json'), 'utf8')).clients['stella-admin'];
  });
  after(async () => {
    await running?.server.close();
    await database.drop();
    rmSync(join(home, '..'), { recursive: true, force: true });
  });

  test('an existing 0755 home is tightened at start, with a log line naming what changed', () => {
    assert.equal(statSync(home).mode & 0o777, 0o700);
    assert.equal(statSync(join(home, 'notes')).mode & 0o777, 0o700);
    assert.equal(statSync(join(home, 'notes', 'runbook.txt')).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(home, 'notes', 'runbook.txt'), 'utf8'), 'kept\n', 'content untouched');
    const line = running.logs.map((l) => JSON.parse(l)).find((l) => /tightened permissions/.test(l.msg));
    assert.ok(line, 'a log line names the change');
    assert.ok(line.changed.includes('. 0755->0700'), line.changed);
    assert.ok(line.changed.includes('notes/runbook.txt 0644->0600'), line.changed);
    assert.equal(process.umask(0o077), 0o077, 'the process umask is 077');
  });

  test('everything under $STELLA_HOME is 0700/0600 after start, and after the database wrote more files', async () => {
    const before = assertPrivate(home, 'after start');
    // Make the database write: new relations, index and WAL.
    await running.server.ctx.db.query(
      `create table issue11_probe as select g, repeat(md5(g::text), 20) as filler from generate_series(1, 20000) g`,
    );
    await running.server.ctx.db.query('create index on issue11_probe (filler)');
    await running.server.ctx.db.query('drop table issue11_probe');
    const afterWrites = assertPrivate(home, 'after the database wrote');
    if (testBackend() === 'pglite') assert.ok(afterWrites > 900 && before > 900, 'the PGlite files were walked');
  });

  test('home refusal: an entry owned by another user that cannot be made private is a coded error', (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('needs root to create a file owned by another user');
      return;
    }
    const other = join(mkdtempSync(join(tmpdir(), 'stella-issue11-')), 'home');
    mkdirSync(other, { mode: 0o700 });
    writeFileSync(join(other, 'foreign'), 'x', { mode: 0o644 });
    chmodSync(join(other, 'foreign'), 0o644);
    chownSync(join(other, 'foreign'), 65534, 65534);
    assert.throws(
      () => prepareHome(other, { warn() {} }),
      (error: { code?: string; message: string }) =>
        error.code === 'ERR_HOME_UNSAFE' && /foreign.*uid 65534.*chown/.test(error.message),
    );
    // The home itself belonging to someone else is refused whatever its mode.
    rmSync(join(other, 'foreign'));
    chownSync(other, 65534, 65534);
    assert.throws(
      () => prepareHome(other, { warn() {} }),
      (error: { code?: string; message: string }) =>
        error.code === 'ERR_HOME_UNSAFE' && /belongs to uid 65534/.test(error.message),
    );
    rmSync(join(other, '..'), { recursive: true, force: true });
  });

  test('a home reached through a symbolic link is tightened where it really is', () => {
    const parent = mkdtempSync(join(tmpdir(), 'stella-issue11-'));
    const real = join(parent, 'real');
    mkdirSync(real, { mode: 0o755 });
    chmodSync(real, 0o755);
    writeFileSync(join(real, 'credentials.json'), '{}', { mode: 0o644 });
    chmodSync(join(real, 'credentials.json'), 0o644);
    symlinkSync(real, join(parent, 'link'));
    const changed: string[] = [];
    const report = prepareHome(join(parent, 'link'), {
      warn: (details) => changed.push(...(details.changed as string[])),
    });
    assert.equal(report.changed.length, 2);
    assert.deepEqual(changed.sort(), ['. 0755->0700', 'credentials.json 0644->0600']);
    assert.equal(statSync(real).mode & 0o777, 0o700);
    assert.equal(statSync(join(real, 'credentials.json')).mode & 0o777, 0o600);
    rmSync(parent, { recursive: true, force: true });
  });

  test('no private key in use is found in the database files or rows, after a rotation too', async () => {
    const kekPath = join(home, 'keys', 'kek');
    assert.equal(statSync(kekPath).mode & 0o777, 0o600);
    assert.equal(statSync(join(home, 'keys')).mode & 0o777, 0o700);
    const kek = parseKeyEncryptionKey(readFileSync(kekPath, 'utf8'), kekPath);

    const adminToken = await token();
    const rotated = await fetch(`${base()}/api/v1/authority/keys/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}` },
    });
    assert.equal(rotated.status, 200, await rotated.clone().text());
    // Keys of the platform signing store (Export Center, Signals), made through the running server's store.
    const store = createSigningKeyStore(running.server.ctx.db);
    await store.getSigner('default', 'issue11-bundles', 'ecdsa-p256');
    await store.getSigner('default', 'issue11-graphs', 'ed25519');

    // The private material of every key in use, in every encoding it could be stored in.
    const db = running.server.ctx.db;
    const authorityRows = await db.query<{ kid: string; private_jwk: unknown; private_key_sealed: string }>(
      'select kid, private_jwk, private_key_sealed from authority_signing_keys',
    );
    const platformRows = await db.transaction(
      (tx) =>
        tx.query<{
          keyid: string;
          purpose: string;
          algorithm: string;
          private_key_pem: string | null;
          private_key_sealed: string;
        }>('select keyid, purpose, algorithm, private_key_pem, private_key_sealed from signing_keys'),
      { tenant: 'default' },
    );
    assert.ok(authorityRows.rows.length >= 2 && platformRows.rows.length >= 2);
    const privateKeys = [
      ...authorityRows.rows.map((r) => {
        assert.equal(r.private_jwk, null);
        const jwk = JSON.parse(kek.open(r.private_key_sealed, `authority-signing-key\u0000${r.kid}`)) as JsonWebKey;
        return createPrivateKey({ key: jwk, format: 'jwk' });
      }),
      ...platformRows.rows.map((r) => {
        assert.equal(r.private_key_pem, null);
        return createPrivateKey(
          kek.open(
            r.private_key_sealed,
            `platform-signing-key\u0000default\u0000${r.keyid}\u0000${r.purpose}\u0000${r.algorithm}`,
          ),
        );
      }),
    ];
    const needles: { what: string; bytes: Buffer }[] = [];
    for (const key of privateKeys) {
      const jwk = key.export({ format: 'jwk' });
      const d = Buffer.from(jwk.d!, 'base64url');
      const der = key.export({ type: 'pkcs8', format: 'der' });
      const pemBody = key.export({ type: 'pkcs8', format: 'pem' }).toString().split('\n')[1]!;
      needles.push(
        { what: 'raw scalar', bytes: d },
        { what: 'JWK d', bytes: Buffer.from(jwk.d!) },
        { what: 'scalar base64', bytes: Buffer.from(d.toString('base64')) },
        { what: 'PKCS#8 DER', bytes: der },
        { what: 'PKCS#8 PEM', bytes: Buffer.from(pemBody) },
        { what: 'PKCS#8 hex', bytes: Buffer.from(der.toString('hex')) },
      );
    }

    const found: string[] = [];
    if (testBackend() === 'pglite') {
      for (const file of files(join(home, 'pg'))) {
        const content = readFileSync(file);
        for (const n of needles) if (content.includes(n.bytes)) found.push(`${relative(home, file)}: ${n.what}`);
      }
      assert.ok(files(join(home, 'pg')).length > 900);
    } else {
      const dump = [
        ...(await db.query<{ row: string }>('select t::text as row from authority_signing_keys t')).rows,
        ...(
          await db.transaction((tx) => tx.query<{ row: string }>('select t::text as row from signing_keys t'), {
            tenant: 'default',
          })
        ).rows,
      ]
        .map((r) => r.row)
        .join('\n');
      for (const n of needles) if (Buffer.from(dump).includes(n.bytes)) found.push(`row: ${n.what}`);
      for (const n of needles) if (dump.includes(n.bytes.toString('hex'))) found.push(`row (bytea hex): ${n.what}`);
    }
    assert.deepEqual(found, []);

    // Tokens of the rotated key verify.
    const after = await token('advisory:read');
    const list = await fetch(`${base()}/advisories/raw`, { headers: { authorization: `Bearer ${after}` } });
    assert.equal(list.status, 200, await list.clone().text());
  });

  test('a restart with the same KEK works; another KEK or a missing one stops start-up with its code', async () => {
    const before = await token('advisory:read');
    await running.server.close();

    const otherKek = generateKeyEncryptionKeyText();
    const wrong = await refusal(kekEnv(otherKek));
    assert.equal(wrong?.code, 'ERR_KEYS_KEK_MISMATCH', wrong?.message);
    assert.match(wrong!.message, /sealed with KEK [0-9a-f]{16}.*STELLA_KEK/);

    const kekPath = join(home, 'keys', 'kek');
    renameSync(kekPath, `${kekPath}.away`);
    const missing = await refusal();
    assert.equal(missing?.code, 'ERR_KEYS_KEK_MISSING', missing?.message);
    assert.match(missing!.message, /restore the KEK file from backup/);
    renameSync(`${kekPath}.away`, kekPath);

    // The same KEK given in the environment instead of the file opens the keys too.
    running = await start(kekEnv(readFileSync(kekPath, 'utf8').trim()));
    const list = await fetch(`${base()}/advisories/raw`, { headers: { authorization: `Bearer ${before}` } });
    assert.equal(list.status, 200, 'a token issued before the restart still verifies');
    await running.server.close();
    running = await start();
    assert.equal(
      (
        await fetch(`${base()}/advisories/raw`, {
          headers: { authorization: `Bearer ${await token('advisory:read')}` },
        })
      ).status,
      200,
    );
  });

  test('/metrics without credentials is 401 problem+json; metrics:read gets it; another scope is 403', async () => {
    const anonymous = await fetch(`${base()}/metrics`);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(((await anonymous.json()) as { code: string }).code, 'ERR_AUTH_MISSING_TOKEN');
    const wrong = await fetch(`${base()}/metrics`, {
      headers: { authorization: `Bearer ${await token('advisory:read')}` },
    });
    assert.equal(wrong.status, 403);
    await wrong.text();
    const scraped = await fetch(`${base()}/metrics`, {
      headers: { authorization: `Bearer ${await token('metrics:read')}` },
    });
    assert.equal(scraped.status, 200);
    assert.match(await scraped.text(), /stella_http_requests_total/);
  });

  test('3,000 distinct vendor headers add a bounded number of series', async () => {
    const ingestToken = await token('advisory:ingest');
    const metricsToken = await token('metrics:read');
    const scrape = async () =>
      (await (await fetch(`${base()}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).text())
        .split('\n')
        .filter((l) => l && !l.startsWith('#'));
    const before = await scrape();
    let next = 0;
    const statuses = new Map<number, number>();
    const worker = async () => {
      while (next < 3000) {
        const i = next++;
        const res = await fetch(`${base()}/ingest/advisory`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${ingestToken}`,
            'content-type': 'application/json',
            'x-stella-source-vendor': `vendor-${i}`,
          },
          // No upstream id: the guard refuses it, after counting the write by its vendor.
          body: JSON.stringify({ id: `GHSA-issue11-${i}` }),
        });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        await res.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    assert.ok(!statuses.has(500), `no server errors: ${[...statuses]}`);
    const afterLines = await scrape();
    const sources = new Set(afterLines.flatMap((l) => /\bsource="([^"]*)"/.exec(l)?.[1] ?? []));
    assert.ok(sources.size <= 34, `${sources.size} distinct source labels`);
    assert.ok(sources.has('other') || sources.size <= 34);
    assert.ok(afterLines.length - before.length < 2500, `${afterLines.length - before.length} new series`);
  });

  test('a separate metrics listener (metrics.port) serves /metrics without a token, on loopback by default', async () => {
    await running.server.close();
    running = await start({ STELLA_METRICS_PORT: '0' });
    const url = (running.server as RunningServer & { metricsUrl?: string }).metricsUrl;
    assert.match(url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const scraped = await fetch(url!);
    assert.equal(scraped.status, 200);
    assert.match(await scraped.text(), /stella_http_requests_total/);
    assert.equal((await fetch(`${base()}/metrics`)).status, 401, 'the API port still asks for a token');
  });

  test('`stella config show` prints no password, key or token', async () => {
    const out = capture();
    const err = capture();
    const secrets = {
      STELLA_DATABASE_URL: 'postgres://stella_app:db-password-11@db:5432/stella',
      STELLA_REDIS_URL: 'redis://:redis-password-11@valkey:6379',
      STELLA_NATS_URL: 'nats://nats:nats-password-11@nats:4222',
      STELLA_CAS_ACCESS_KEY_ID: 'AKIAISSUE11EXAMPLE00',
      STELLA_CAS_SECRET_ACCESS_KEY: 's3-secret-11',
      ...kekEnv(generateKeyEncryptionKeyText()),
    };
    const code = await makeProgram({
      argv: ['config', 'show'],
      env: { STELLA_HOME: home, ...secrets },
      stdout: out.stream,
      stderr: err.stream,
    }).run();
    assert.equal(code, 0, err.text());
    for (const [name, value] of Object.entries(secrets)) {
      const secret = name === 'STELLA_DATABASE_URL' || name.endsWith('_URL') ? /:([^:@]+)@/.exec(value)![1]! : value;
      assert.ok(!out.text().includes(secret), `${name} leaks ${secret}`);
    }
    assert.match(out.text(), /postgres:\/\/stella_app:\[redacted\]@db:5432\/stella/);
  });

  test('/token: a guesser on the same address slows only itself; the real client keeps getting tokens', async () => {
    const form = (secret: string) =>
      new URLSearchParams({ grant_type: 'client_credentials', client_id: admin.clientId, client_secret: secret });
    const post = (secret: string) =>
      fetch(`${base()}/token`, { method: 'POST', headers: { 'content-type': FORM }, body: form(secret) });
    let stop = false;
    const guessed: number[] = [];
    const guesser = async () => {
      for (let i = 0; !stop; i++) {
        const res = await post(`guess-${i}`);
        guessed.push(res.status);
        if (res.status === 429) assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
        await res.arrayBuffer();
      }
    };
    const guessers = Array.from({ length: 4 }, guesser);
    // The real client starts once the guesser is already backing off, and asks while it keeps going.
    const deadline = Date.now() + 30_000;
    while (!guessed.includes(429) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(guessed.includes(429), 'the guesser was slowed down');
    const served: number[] = [];
    const started = performance.now();
    for (let i = 0; i < 20; i++) {
      const res = await post(admin.clientSecret);
      served.push(res.status);
      await res.arrayBuffer();
    }
    const goodMs = (performance.now() - started) / 20;
    stop = true;
    await Promise.all(guessers);
    assert.deepEqual(served, Array(20).fill(200));
    const checked = guessed.filter((s) => s === 401).length;
    assert.ok(checked >= 5 && checked <= 8, `the free failures and one per back-off were checked, not ${checked}`);
    assert.ok(guessed.filter((s) => s === 429).length > 20, 'the guesser kept going while the client was served');
    assert.ok(goodMs < 250, `the real client waited ${goodMs.toFixed(0)} ms per token`);
  });
});

describe(`/token with the router rate limiter on, on ${testBackend()}`, () => {
  const database = { url: undefined as string | undefined, drop: async () => {} };
  let home: string;
  let server: RunningServer;

  before(async () => {
    Object.assign(database, await newDatabaseUrl());
    home = mkdtempSync(join(tmpdir(), 'stella-issue11-limits-'));
    // The probe's set-up: an instance-wide window every caller falls under, keyed by address when
    // the caller has no tenant yet (as at /token).
    writeFileSync(
      join(home, 'stella.yaml'),
      'rate_limiting:\n  for_instance:\n    rules:\n      - per_seconds: 60\n        max_requests: 10\n',
    );
    server = await startServer({
      config: loadServerConfig({
        env: {
          STELLA_HOME: home,
          STELLA_SERVER_PORT: '0',
          STELLA_LOG_LEVEL: 'silent',
          ...(database.url ? { STELLA_DATABASE_URL: database.url } : {}),
        },
      }).config,
    });
  });
  after(async () => {
    await server?.close();
    await database.drop();
    rmSync(home, { recursive: true, force: true });
  });

  test('a guesser cannot use up the window of the real client behind the same address', async () => {
    const admin = JSON.parse(readFileSync(join(home, 'credentials.json'), 'utf8')).clients['stella-admin'];
    const post = (secret: string) =>
      fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { 'content-type': FORM },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: admin.clientId,
          client_secret: secret,
        }),
      });
    const guessed: number[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await post(`guess-${i}`);
      guessed.push(res.status);
      await res.arrayBuffer();
    }
    assert.ok(guessed.includes(429), 'the guesser is slowed down');
    for (let i = 0; i < 15; i++) {
      const res = await post(admin.clientSecret);
      assert.equal(res.status, 200, `request ${i}: ${await res.text()}`);
    }
    // Other routes keep the router limit: more than 10 anonymous requests a minute are refused.
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await fetch(`${server.url}/healthz`)).status);
    assert.ok(statuses.includes(429), `${statuses}`);
  });
});
