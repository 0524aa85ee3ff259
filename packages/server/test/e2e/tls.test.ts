// The listener over TLS (server.tls), checked with independent tools: curl and `openssl s_client`
// against certificates made by openssl here (a CA, a server certificate for 127.0.0.1, a client
// certificate, and one that expired in 2020 via `openssl ca -startdate/-enddate`). Mutual TLS refuses
// a handshake without a client certificate; a bad certificate stops start-up with a clear error.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findExecutable, testBackend } from '@stella/testkit';
import { loadServerConfig, startServer } from '../../src/index.ts';
import { startTestServer, type TestServer } from '../helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'stella-tls-'));
const file = (name: string) => join(dir, name);
const openssl = (...args: string[]) => execFileSync(findExecutable('openssl'), args, { cwd: dir, stdio: 'pipe' });

/** A new P-256 key `<name>.key` and its signing request `<name>.csr` for CN `cn`. */
function request(name: string, cn: string): void {
  openssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${cn}`,
  );
}

/** A key and a certificate for `cn` signed by the test CA, with these X.509 extensions. */
function issue(name: string, cn: string, ext: string): void {
  request(name, cn);
  writeFileSync(file(`${name}.ext`), ext);
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    `${name}.pem`,
    '-extfile',
    `${name}.ext`,
  );
}

function makeCertificates(): void {
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-subj',
    '/CN=stella-test-ca',
    '-days',
    '2',
  );
  issue('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  issue('client', 'sensor-1', 'extendedKeyUsage=clientAuth\n');
  // Expired: `openssl ca` is the one openssl 3.0 command that takes explicit validity dates.
  request('old', '127.0.0.1');
  writeFileSync(file('index.txt'), '');
  writeFileSync(file('serial'), '01\n');
  writeFileSync(
    file('ca.cnf'),
    '[ca]\ndefault_ca = test\n[test]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = any\n[any]\ncommonName = supplied\n',
  );
  openssl(
    'ca',
    '-batch',
    '-config',
    'ca.cnf',
    '-cert',
    'ca.pem',
    '-keyfile',
    'ca.key',
    '-in',
    'old.csr',
    '-out',
    'old.pem',
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200102000000Z',
    '-notext',
  );
}

/** A tool run without blocking: the server under test answers from this same process. */
function run(program: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(findExecutable(program), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function curl(url: string, ...args: string[]) {
  return run('curl', ['-sS', '--max-time', '10', ...args, url]);
}

describe(`TLS on the listener (${testBackend()})`, () => {
  let t: TestServer;
  let mutual: TestServer;

  before(async () => {
    makeCertificates();
    const tlsEnv = { STELLA_SERVER_TLS_CERT_FILE: file('server.pem'), STELLA_SERVER_TLS_KEY_FILE: file('server.key') };
    t = await startTestServer(tlsEnv);
    mutual = await startTestServer({
      ...tlsEnv,
      STELLA_SERVER_TLS_CLIENT_CA_FILE: file('ca.pem'),
      STELLA_SERVER_TLS_REQUIRE_CLIENT_CERT: 'true',
    });
  });
  after(async () => {
    await t?.close();
    await mutual?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('HTTPS only: curl with the CA gets /healthz, s_client verifies the chain, plain HTTP gets no answer', async () => {
    assert.match(t.base, /^https:\/\/127\.0\.0\.1:\d+$/);
    const ok = await curl(`${t.base}/healthz`, '--cacert', file('ca.pem'));
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /ok/);
    assert.notEqual((await curl(`${t.base}/healthz`)).status, 0, 'an unknown CA is refused by curl');

    const port = new URL(t.base).port;
    // stdin closed: s_client ends right after the handshake.
    const handshake = await run('openssl', [
      's_client',
      '-connect',
      `127.0.0.1:${port}`,
      '-CAfile',
      file('ca.pem'),
      '-verify_return_error',
      '-brief',
    ]);
    const said = `${handshake.stdout}${handshake.stderr}`;
    assert.match(said, /Verification: OK/, said);
    assert.match(said, /Protocol version: TLSv1\.3/, said);
    assert.match(said, /Peer certificate: CN ?= ?127\.0\.0\.1/, said);

    const plain = await curl(t.base.replace('https:', 'http:') + '/healthz');
    assert.notEqual(plain.status, 0);
  });

  test('mutual TLS: no client certificate, no handshake; the CA-signed one gets through', async () => {
    const without = await curl(`${mutual.base}/healthz`, '--cacert', file('ca.pem'));
    assert.notEqual(without.status, 0, without.stdout);
    const withCert = await curl(
      `${mutual.base}/healthz`,
      '--cacert',
      file('ca.pem'),
      '--cert',
      file('client.pem'),
      '--key',
      file('client.key'),
    );
    assert.equal(withCert.status, 0, withCert.stderr);
    assert.match(withCert.stdout, /ok/);
    // A certificate from another CA is no better than none.
    const stranger = await curl(
      `${mutual.base}/healthz`,
      '--cacert',
      file('ca.pem'),
      '--cert',
      file('old.pem'),
      '--key',
      file('client.key'),
    );
    assert.notEqual(stranger.status, 0);
  });

  test('start-up refuses an expired certificate, a key that does not match, and half a configuration', async () => {
    const start = (env: Record<string, string>) =>
      startServer({
        config: loadServerConfig({
          env: { STELLA_HOME: file('home'), STELLA_SERVER_PORT: '0', STELLA_LOG_LEVEL: 'silent', ...env },
        }).config,
      });
    const refused = async (env: Record<string, string>, message: RegExp) =>
      assert.rejects(start(env), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_CONFIG');
        assert.match(e.message, message);
        return true;
      });
    await refused(
      { STELLA_SERVER_TLS_CERT_FILE: file('old.pem'), STELLA_SERVER_TLS_KEY_FILE: file('old.key') },
      /old\.pem expired on 2020-01-02T00:00:00\.000Z/,
    );
    await refused(
      { STELLA_SERVER_TLS_CERT_FILE: file('server.pem'), STELLA_SERVER_TLS_KEY_FILE: file('client.key') },
      /client\.key is not the key of server\.tls\.certFile/,
    );
    await refused({ STELLA_SERVER_TLS_CERT_FILE: file('server.pem') }, /needs both certFile and keyFile/);
    await refused(
      { STELLA_SERVER_TLS_CERT_FILE: file('missing.pem'), STELLA_SERVER_TLS_KEY_FILE: file('server.key') },
      /server\.tls\.certFile .*missing\.pem: ENOENT/,
    );
    await refused(
      {
        ...{ STELLA_SERVER_TLS_CERT_FILE: file('server.pem'), STELLA_SERVER_TLS_KEY_FILE: file('server.key') },
        STELLA_SERVER_TLS_REQUIRE_CLIENT_CERT: 'true',
      },
      /requireClientCert needs server\.tls\.clientCaFile/,
    );
  });
});
