// Starts a real server (in-process) on the backend the suite runs on, in a temporary STELLA_HOME.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { makeProgram } from '@stella/cli';
import { pae } from '@stella/core';
import { createLogger } from '@stella/platform';
import { advisoryFixtures, createDatabase, testBackend } from '@stella/testkit';
import pg from 'pg';
import { loadServerConfig, type RunningServer, startServer } from '../src/index.ts';

export interface TestServer {
  server: RunningServer;
  home: string;
  base: string;
  databaseUrl: string | undefined;
  admin: { clientId: string; clientSecret: string };
  token(scope?: string, tenant?: string): Promise<string>;
  /** Stops the server and starts it again (same port when STELLA_SERVER_PORT was given); `whileDown` runs in between. */
  restart(whileDown?: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

export async function newDatabaseUrl(): Promise<{ url: string | undefined; drop(): Promise<void> }> {
  if (testBackend() !== 'postgres') return { url: undefined, drop: async () => {} };
  const admin = process.env.STELLA_TEST_PG_ADMIN_URL!;
  const app = process.env.STELLA_TEST_PG_APP_URL!;
  const name = `s_${Math.random().toString(36).slice(2, 10)}`;
  return createDatabase(admin, (n) => app.replace(/\/[^/]*$/, `/${n}`), name);
}

/** Another, empty stella home with a database of its own (a disconnected site), for runCliIn; close removes both. */
export async function disconnectedSite(
  prefix = 'stella-site-',
): Promise<{ home: string; env: Record<string, string | undefined>; close(): Promise<void> }> {
  const home = mkdtempSync(join(tmpdir(), prefix));
  const database = await newDatabaseUrl();
  return {
    home,
    env: { STELLA_HOME: home, ...(database.url ? { STELLA_DATABASE_URL: database.url } : {}) },
    async close() {
      await database.drop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** An access token for a client by the client_credentials grant (spec §4). */
export async function clientToken(
  base: string,
  clientId: string,
  clientSecret: string,
  options: { scope?: string | undefined; tenant?: string | undefined } = {},
): Promise<string> {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: clientSecret,
  });
  if (options.scope) form.set('scope', options.scope);
  if (options.tenant) form.set('tenant', options.tenant);
  const res = await fetch(`${base}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  if (!res.ok) throw new Error(`token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export interface TestServerOptions {
  /** Collects the server's log lines (level info) here, parsed, instead of discarding them. */
  logs?: Record<string, unknown>[];
}

/** A logger at info whose lines land in `logs`, parsed. */
function collectingLogger(logs: Record<string, unknown>[]) {
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line));
      callback();
    },
  });
  return createLogger({ level: 'info', destination: sink });
}

export async function startTestServer(
  extraEnv: Record<string, string> = {},
  yaml?: string,
  options: TestServerOptions = {},
): Promise<TestServer> {
  const home = mkdtempSync(join(tmpdir(), 'stella-e2e-'));
  if (yaml) (await import('node:fs')).writeFileSync(join(home, 'stella.yaml'), yaml);
  const database = await newDatabaseUrl();
  const env = {
    STELLA_HOME: home,
    STELLA_SERVER_PORT: '0',
    STELLA_LOG_LEVEL: 'silent',
    STELLA_SERVER_DOCS_UI: 'false',
    ...(database.url ? { STELLA_DATABASE_URL: database.url } : {}),
    ...extraEnv,
  };
  const logger = options.logs ? collectingLogger(options.logs) : undefined;
  const start = () => startServer({ config: loadServerConfig({ env }).config, ...(logger ? { logger } : {}) });
  let server = await start();
  const creds = JSON.parse(readFileSync(join(home, 'credentials.json'), 'utf8'));
  const admin = creds.clients['stella-admin'];
  const handle: TestServer = {
    server,
    home,
    base: server.url,
    databaseUrl: database.url,
    admin,
    token: (scope, tenant) => clientToken(handle.base, admin.clientId, admin.clientSecret, { scope, tenant }),
    async restart(whileDown) {
      await server.close();
      await whileDown?.();
      server = await start();
      handle.server = server;
      handle.base = server.url;
    },
    async close() {
      await server.close();
      await database.drop();
      rmSync(home, { recursive: true, force: true });
    },
  };
  return handle;
}

/** A writable that keeps what is written, for the CLI's stdout and stderr in tests. */
export function capture(): { stream: NodeJS.WritableStream; text(): string } {
  let out = '';
  return {
    stream: {
      write: (s: string) => {
        out += s;
        return true;
      },
    } as unknown as NodeJS.WritableStream,
    text: () => out,
  };
}

/** Runs `stella <args>` in-process against the test server, with its credentials file. */
export function runCli(
  t: TestServer,
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCliIn({ STELLA_HOME: t.home, STELLA_SERVER: t.base }, args, stdin);
}

/** The CLI in-process with exactly this environment (another home, e.g. a disconnected site). */
export async function runCliIn(
  env: Record<string, string | undefined>,
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = capture();
  const err = capture();
  const code = await makeProgram({
    argv: args,
    env,
    stdout: out.stream,
    stderr: err.stream,
    ...(stdin === undefined ? {} : { stdin: Readable.from([Buffer.from(stdin)]) }),
  }).run();
  return { code, stdout: out.text(), stderr: err.text() };
}

/**
 * The fixture tree as sources: one per upstream snapshot, as the fixture README lists them; osv-go's
 * history first, in time order (file names start with the commit time), then its current files.
 */
export function fixtureSources(): { folder: string; vendor: string }[] {
  const root = advisoryFixtures();
  return [
    ...['csaf', 'cyclonedx-vex', 'ghsa', 'openvex', 'osv-misc'].flatMap((family) =>
      readdirSync(join(root, family)).map((source) => `${family}/${source}`),
    ),
    'cve5',
    'nvd-api-2.0',
    'osv-go/history',
    'osv-go/current',
  ].map((folder) => ({ folder, vendor: folder.startsWith('osv-go') ? 'osv-go' : folder.split('/').at(-1)! }));
}

/** Ingests every fixture source with `stella sources ingest`; returns how many documents were written. */
export async function ingestAllFixtures(t: TestServer): Promise<number> {
  let written = 0;
  for (const { folder, vendor } of fixtureSources()) {
    const r = await runCli(t, [
      'sources',
      'ingest',
      '--source',
      vendor,
      '--input',
      join(advisoryFixtures(), folder),
      '--json',
    ]);
    written += (JSON.parse(r.stdout) as { written: number }).written;
  }
  return written;
}

/** A DSSE envelope as stella serves it. */
export interface DsseEnvelopeJson {
  payloadType: string;
  payload: string;
  signatures: { keyid: string; sig: string }[];
}

/**
 * Checks a DSSE envelope's first signature with openssl alone (Ed25519 over PAE(payloadType,
 * payload)), as an offline verifier would; throws when openssl refuses it.
 */
export function verifyDsseWithOpenssl(envelope: DsseEnvelopeJson, publicKeyPem: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'stella-dsse-'));
  try {
    writeFileSync(join(dir, 'key.pem'), publicKeyPem);
    writeFileSync(join(dir, 'pae.bin'), pae(envelope.payloadType, Buffer.from(envelope.payload, 'base64')));
    writeFileSync(join(dir, 'sig.bin'), Buffer.from(envelope.signatures[0]!.sig, 'base64'));
    const out = execFileSync(
      'openssl',
      ['pkeyutl', '-verify', '-pubin', '-inkey', 'key.pem', '-rawin', '-in', 'pae.bin', '-sigfile', 'sig.bin'],
      { cwd: dir, encoding: 'utf8' },
    );
    assert.match(out, /Signature Verified Successfully/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Checks an extracted bundle with standard tools only: openssl over export.json with the cosign-style
 * signatures/export.sig (base64 DER ECDSA), then sha256sum over checksums.txt.
 */
export function verifyBundleWithOpenssl(dir: string, keyFile: string): void {
  const sig = join(dir, 'export.sig.der');
  writeFileSync(sig, Buffer.from(readFileSync(join(dir, 'signatures/export.sig'), 'utf8').trim(), 'base64'));
  const ok = execFileSync(
    'openssl',
    ['dgst', '-sha256', '-verify', keyFile, '-signature', sig, join(dir, 'export.json')],
    {
      encoding: 'utf8',
    },
  );
  assert.match(ok, /Verified OK/);
  rmSync(sig);
  execFileSync('sha256sum', ['-c', 'checksums.txt'], { cwd: dir });
}

/** Changes stored rows as a superuser would: with the AOC constraint set removed, bypassing RLS. */
export async function tamper(t: TestServer, sql: string): Promise<void> {
  if (testBackend() === 'postgres') {
    const superuser = new pg.Client({ connectionString: superuserUrl(t) });
    await superuser.connect();
    try {
      await superuser.query(`select aoc_remove_constraints(); ${sql}`);
    } finally {
      await superuser.end();
    }
  } else {
    // PGlite: the embedded session's superuser is behind the app role; step out of it for one transaction.
    await t.server.ctx.db.transaction(async (tx) => {
      await tx.exec(`reset role; select aoc_remove_constraints(); ${sql}; set role stella_app;`);
    });
  }
}

/** The test server's database as the cluster's superuser (PostgreSQL leg only). */
export function superuserUrl(t: TestServer): string {
  const admin = new URL(process.env.STELLA_TEST_PG_ADMIN_URL!);
  admin.pathname = new URL(t.databaseUrl!).pathname;
  return admin.toString();
}
