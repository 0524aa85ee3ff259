// Failed client authentication at POST /token backs off per client id and source address, scrypt
// checks run a few at a time, and a client presenting its correct secret keeps getting tokens while a
// guesser hammers its client id from the same address. Also: keys stored in plaintext by older
// versions are sealed and the active one retired at start.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import {
  createTokenVerifier,
  generateKeyEncryptionKeyText,
  migrate,
  parseKeyEncryptionKey,
  sealedKekId,
} from '@stella/platform';
import { scratchDir, type TestDb, testBackend, testDb } from '@stella/testkit';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { bootstrapAuthority, type CredentialsFile } from '../src/clients.ts';
import { jwks, sealedAuthorityKekIds, sealPlaintextKeys } from '../src/keys.ts';
import { authorityMigrations } from '../src/module.ts';
import { registerAuthorityRoutes } from '../src/routes.ts';
import { hashSecret } from '../src/secrets.ts';
import { createTokenThrottle, type TokenThrottle, throttleAddress } from '../src/throttle.ts';

const ISSUER = 'http://127.0.0.1:8440';
const FORM = 'application/x-www-form-urlencoded';
const GUESSER = '203.0.113.7';

describe('token throttle', () => {
  test('free failures, then waits of 1, 2, 4 s up to the cap; a success clears the pair', async () => {
    let clock = 0;
    const throttle = createTokenThrottle({
      failuresBeforeBackoff: 2,
      backoffMaxSeconds: 3,
      secretCheckConcurrency: 1,
      now: () => clock,
    });
    const attempt = (ok: boolean, address = '10.0.0.1') => throttle.run('ci', address, async () => ok);
    assert.equal(await attempt(false), false);
    assert.equal(await attempt(false), false, 'the second failure is checked, and starts the back-off');
    assert.deepEqual(await attempt(false), { refused: true, reason: 'client_backoff', retryAfterSeconds: 1 });
    clock += 1000;
    assert.equal(await attempt(false), false);
    assert.deepEqual(await attempt(true), { refused: true, reason: 'client_backoff', retryAfterSeconds: 2 });
    assert.equal(await attempt(true, '10.0.0.2'), true, 'another address is not held up');
    clock += 2000;
    assert.equal(await attempt(false), false);
    assert.deepEqual(await attempt(false), { refused: true, reason: 'client_backoff', retryAfterSeconds: 3 }, 'capped');
    clock += 3000;
    assert.equal(await attempt(true), true);
    assert.equal(await attempt(false), false, 'the success cleared the pair: failures are free again');
  });

  test('an address failing across many client ids backs off as a whole', async () => {
    let clock = 0;
    const throttle = createTokenThrottle({
      failuresBeforeBackoff: 1,
      backoffMaxSeconds: 60,
      secretCheckConcurrency: 4,
      now: () => clock,
    });
    for (let i = 0; i < 10; i++) assert.equal(await throttle.run(`id-${i}`, GUESSER, async () => false), false);
    const refused = await throttle.run('id-10', GUESSER, async () => true);
    assert.deepEqual(refused, { refused: true, reason: 'address_backoff', retryAfterSeconds: 1 });
    assert.equal(await throttle.run('id-10', '198.51.100.1', async () => true), true);
    clock += 1000;
    assert.equal(await throttle.run('id-11', GUESSER, async () => true), true, 'the wait is over');
  });

  test('scrypt checks never run more than the configured number at once; one pair runs one at a time', async () => {
    const throttle = createTokenThrottle({
      failuresBeforeBackoff: 100,
      backoffMaxSeconds: 60,
      secretCheckConcurrency: 2,
    });
    let running = 0;
    let peak = 0;
    let samePairPeak = 0;
    let samePair = 0;
    const check = (pair: boolean) => async () => {
      running += 1;
      if (pair) samePair += 1;
      peak = Math.max(peak, running);
      samePairPeak = Math.max(samePairPeak, samePair);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running -= 1;
      if (pair) samePair -= 1;
      return false;
    };
    await Promise.all([
      ...Array.from({ length: 30 }, (_, i) => throttle.run(`unknown-${i}`, `10.0.1.${i}`, check(false))),
      ...Array.from({ length: 10 }, () => throttle.run('stella-admin', GUESSER, check(true))),
    ]);
    assert.equal(peak, 2);
    assert.equal(throttle.stats().peakChecksRunning, 2);
    assert.equal(samePairPeak, 1);
    assert.equal(throttle.stats().pending, 0);
  });

  test('memory is bounded: 30,000 distinct failing pairs are not all remembered', async () => {
    const throttle = createTokenThrottle({
      failuresBeforeBackoff: 5,
      backoffMaxSeconds: 60,
      secretCheckConcurrency: 8,
    });
    for (let i = 0; i < 30_000; i++)
      await throttle.run(`c${i}`, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, async () => false);
    assert.ok(throttle.stats().tracked <= 20_000, `${throttle.stats().tracked} entries`);
  });

  test('IPv6 addresses count per /64; IPv4-mapped addresses as IPv4', () => {
    assert.equal(throttleAddress('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(throttleAddress('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
    assert.equal(throttleAddress('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(throttleAddress('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(throttleAddress('192.0.2.1'), '192.0.2.1');
  });
});

describe(`POST /token under guessing on ${testBackend()}`, () => {
  let t: TestDb;
  let app: FastifyInstance;
  let home: string;
  let throttle: TokenThrottle;
  let admin: { clientId: string; clientSecret: string };
  const ciSecret = 'a human-chosen config secret';
  const kek = parseKeyEncryptionKey(generateKeyEncryptionKeyText(), 'test');

  before(async () => {
    t = await testDb();
    await migrate(t.db, [{ module: 'authority', migrations: authorityMigrations }]);
    home = scratchDir('stella-throttle-');
    const ci = {
      clientId: 'ci',
      secretHash: await hashSecret(ciSecret),
      tenants: ['default'],
      scopes: ['advisory:read'],
    };
    const { credentialsFile } = await bootstrapAuthority(t.db, { home, configClients: [ci], kek });
    admin = (JSON.parse(readFileSync(credentialsFile!, 'utf8')) as CredentialsFile).clients['stella-admin']!;
    // A clock that stands still: no back-off runs out while the test runs, however slow the machine.
    throttle = createTokenThrottle({
      failuresBeforeBackoff: 3,
      backoffMaxSeconds: 60,
      secretCheckConcurrency: 2,
      now: () => 0,
    });
    app = Fastify();
    registerAuthorityRoutes(app, {
      db: t.db,
      issuer: () => ISSUER,
      config: { audience: 'stella', tokenTtlSeconds: 300, clockSkewSeconds: 30 },
      throttle,
      kek,
    });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await t.close();
  });

  const tokenRequest = (clientId: string, clientSecret: string, remoteAddress: string) =>
    app.inject({
      method: 'POST',
      url: '/token',
      remoteAddress,
      headers: { 'content-type': FORM },
      payload: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
      }).toString(),
    });

  const assertSlowDown = (response: LightMyRequestResponse) => {
    assert.equal(response.statusCode, 429, response.body);
    assert.equal(response.json().error, 'slow_down');
    assert.match(response.json().error_description, /retry in \d+ s/);
    assert.match(String(response.headers['retry-after']), /^[1-9]\d*$/);
    assert.equal(response.headers['cache-control'], 'no-store');
  };

  test('a guesser hammering stella-admin from one address slows only itself; the real client on that address keeps working', async () => {
    const guesses = Array.from({ length: 40 }, (_, i) => tokenRequest(admin.clientId, `guess-${i}`, GUESSER));
    const good = Array.from({ length: 10 }, () => tokenRequest(admin.clientId, admin.clientSecret, GUESSER));
    const [guessed, served] = await Promise.all([Promise.all(guesses), Promise.all(good)]);
    for (const r of served) assert.equal(r.statusCode, 200, r.body);
    const statuses = guessed.map((r) => r.statusCode);
    assert.equal(statuses.filter((s) => s === 401).length, 3, `only the free failures were checked: ${statuses}`);
    assert.equal(statuses.filter((s) => s === 429).length, 37);
    for (const r of guessed.filter((x) => x.statusCode === 429)) assertSlowDown(r);
    assert.ok(throttle.stats().peakChecksRunning <= 2);

    // Later, while the guesser is still backing off, the real client still gets tokens at once.
    assertSlowDown(await tokenRequest(admin.clientId, 'another-guess', GUESSER));
    assert.equal((await tokenRequest(admin.clientId, admin.clientSecret, GUESSER)).statusCode, 200);
  });

  test('a config client: the first correct secret is checked by scrypt from a clean address, then never held up', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await tokenRequest('ci', `wrong-${i}`, GUESSER)).statusCode, 401);
    assertSlowDown(await tokenRequest('ci', ciSecret, GUESSER));
    const before = await t.db.query<{ v: string | null }>(
      `select secret_verifier as v from authority_clients where client_id = 'ci'`,
    );
    assert.equal(before.rows[0]?.v, null, 'no verifier before the client presented its secret');

    assert.equal((await tokenRequest('ci', ciSecret, '198.51.100.20')).statusCode, 200);
    const stored = await t.db.query<{ v: string | null }>(
      `select secret_verifier as v from authority_clients where client_id = 'ci'`,
    );
    assert.match(stored.rows[0]?.v ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.ok(!stored.rows[0]!.v!.includes(ciSecret));

    // The pair (ci, guesser's address) is still backing off, yet the correct secret gets through.
    assertSlowDown(await tokenRequest('ci', 'wrong-again', GUESSER));
    assert.equal((await tokenRequest('ci', ciSecret, GUESSER)).statusCode, 200);
  });

  test('a changed config secret drops the old verifier: the old secret no longer passes by it', async () => {
    const newHash = await hashSecret('rotated secret');
    await bootstrapAuthority(t.db, {
      home,
      configClients: [{ clientId: 'ci', secretHash: newHash, tenants: ['default'], scopes: ['advisory:read'] }],
      kek,
    });
    const row = await t.db.query<{ v: string | null }>(
      `select secret_verifier as v from authority_clients where client_id = 'ci'`,
    );
    assert.equal(row.rows[0]?.v, null);
    assert.equal((await tokenRequest('ci', ciSecret, '198.51.100.30')).statusCode, 401);
    assert.equal((await tokenRequest('ci', 'rotated secret', '198.51.100.30')).statusCode, 200);
  });

  test('unknown client ids from one address: the address backs off, a known client there keeps working', async () => {
    const address = '192.0.2.99';
    const statuses: number[] = [];
    for (let i = 0; i < 35; i++) statuses.push((await tokenRequest(`nobody-${i}`, 'x', address)).statusCode);
    assert.equal(statuses.filter((s) => s === 401).length, 30, `${statuses}`);
    assert.equal(statuses.filter((s) => s === 429).length, 5);
    assert.deepEqual(statuses.slice(30), [429, 429, 429, 429, 429]);
    assert.equal((await tokenRequest(admin.clientId, admin.clientSecret, address)).statusCode, 200);
  });
});

describe(`keys stored in plaintext by older versions on ${testBackend()}`, () => {
  let t: TestDb;
  const kek = parseKeyEncryptionKey(generateKeyEncryptionKeyText(), 'test');
  const T0 = new Date('2026-03-01T00:00:00Z');

  before(async () => {
    t = await testDb();
    await migrate(t.db, [{ module: 'authority', migrations: authorityMigrations }]);
  });
  after(() => t.close());

  test('start seals them, retires the active one, and tokens it signed verify until they expire', async () => {
    // What a version before sealing wrote: the private JWK in the clear.
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid: 'legacy', alg: 'EdDSA', use: 'sig' };
    const privateJwk = { ...(await exportJWK(privateKey)), kid: 'legacy', alg: 'EdDSA' };
    await t.db.query(
      `insert into authority_signing_keys (kid, alg, private_jwk, public_jwk, status, created_at)
       values ('legacy', 'EdDSA', $1::jsonb, $2::jsonb, 'active', $3)`,
      [JSON.stringify(privateJwk), JSON.stringify(publicJwk), T0],
    );
    const oldToken = await new SignJWT({ scope: 'advisory:read', tid: 'default', client_id: 'ci' })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'legacy', typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience('stella')
      .setSubject('ci')
      .setJti('legacy-token')
      .setNotBefore(Math.floor(T0.getTime() / 1000))
      .setIssuedAt(Math.floor(T0.getTime() / 1000))
      .setExpirationTime(Math.floor(T0.getTime() / 1000) + 300)
      .sign(privateKey);
    assert.deepEqual(await sealedAuthorityKekIds(t.db), []);

    const options = { maxTokenLifetimeSeconds: 300, skewSeconds: 30, now: T0 };
    const result = await sealPlaintextKeys(t.db, kek, options);
    assert.deepEqual(result.sealed, ['legacy']);
    assert.ok(result.rotatedTo && result.rotatedTo !== 'legacy');
    const rows = await t.db.query<{ kid: string; status: string; private_jwk: unknown; private_key_sealed: string }>(
      'select kid, status, private_jwk, private_key_sealed from authority_signing_keys order by created_at, kid',
    );
    assert.equal(rows.rows.length, 2);
    for (const row of rows.rows) {
      assert.equal(row.private_jwk, null);
      assert.equal(sealedKekId(row.private_key_sealed), kek.id);
      assert.ok(!row.private_key_sealed.includes(String(privateJwk.d)));
    }
    assert.equal(rows.rows.find((r) => r.kid === 'legacy')?.status, 'retired');
    assert.deepEqual(await sealedAuthorityKekIds(t.db), [kek.id]);

    const verifier = createTokenVerifier({
      issuer: ISSUER,
      audience: 'stella',
      clockSkewSeconds: 30,
      keys: { kind: 'local', jwks: () => jwks(t.db, T0) },
      now: () => T0,
    });
    assert.equal((await verifier.verify(oldToken)).subject, 'ci', 'the retired key still verifies its tokens');

    const again = await sealPlaintextKeys(t.db, kek, options);
    assert.deepEqual(again, { sealed: [], rotatedTo: undefined }, 'idempotent');
  });
});
