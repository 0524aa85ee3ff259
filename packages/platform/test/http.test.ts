import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Errors, StellaError } from '@stella/core';
import { waitFor } from '@stella/testkit';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import Type from 'typebox';
import { createTokenVerifier } from '../src/auth/index.ts';
import {
  createHttpApp,
  createLogger,
  decodeCursor,
  encodeCursor,
  type HttpApp,
  microserviceOf,
  parseJsonBody,
  type Readiness,
  tenantOf,
} from '../src/http/index.ts';
import { createMetricsRegistry } from '../src/metrics/index.ts';

const ISSUER = 'http://issuer.test';

describe('HTTP factory', () => {
  let app: HttpApp;
  let readiness: Readiness;
  let healthy = true;
  let logged = '';
  let sign: (claims: Record<string, unknown>, expiresAt?: number) => Promise<string>;

  before(async () => {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA', use: 'sig' };
    sign = (claims, expiresAt) =>
      new SignJWT({ scope: 'timeline:read', tid: 'acme', ...claims })
        .setProtectedHeader({ alg: 'EdDSA', kid: 'k1', typ: 'at+jwt' })
        .setIssuer(ISSUER)
        .setAudience('stella')
        .setSubject('client-a')
        .setJti('j1')
        .setIssuedAt()
        .setExpirationTime(expiresAt ?? '5m')
        .sign(privateKey);
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logged += chunk.toString();
        cb();
      },
    });
    ({ app, readiness } = await createHttpApp({
      logger: createLogger({ level: 'debug', destination: sink }),
      registry: createMetricsRegistry({ defaultMetrics: false }),
      requestBodyBytes: 1024,
      tenantHeader: 'X-Stella-Tenant',
      verifier: createTokenVerifier({
        issuer: ISSUER,
        audience: 'stella',
        clockSkewSeconds: 0,
        keys: { kind: 'local', jwks: async () => ({ keys: [jwk] }) },
      }),
      docsUi: false,
      version: 'test',
    }));
    readiness.addCheck('dependency', async () => {
      if (!healthy) throw new Error('dependency down');
    });
    app.post(
      '/things',
      {
        config: { auth: { scopes: ['timeline:read'] } },
        schema: { body: Type.Object({ name: Type.String({ maxLength: 10 }) }) },
      },
      async (request) => ({ tenant: request.tenant, name: request.body.name }),
    );
    app.get('/boom', async () => {
      throw new Error('secret internals');
    });
    app.get('/coded', async () => {
      throw new StellaError(Errors.conflict, 'already there', { details: { resource: 'x' } });
    });
    // A route that forgot config.auth but asks for the tenant: a coded 500, never a request for no tenant.
    app.get('/no-tenant', async (request) => ({ tenant: tenantOf(request) }));
    await app.ready();
  });
  after(() => app.close());

  test('/readyz is 503 until started, 200 when checks pass, 503 when one fails or while stopping', async () => {
    assert.equal((await app.inject('/readyz')).statusCode, 503);
    readiness.markStarted();
    assert.equal((await app.inject('/readyz')).statusCode, 200);
    healthy = false;
    const down = await app.inject('/readyz');
    assert.equal(down.statusCode, 503);
    assert.equal(down.json().checks.dependency, 'dependency down');
    healthy = true;
    readiness.markStopping();
    assert.equal((await app.inject('/readyz')).statusCode, 503);
  });

  test('request ids are echoed when well-formed and replaced otherwise', async () => {
    const kept = await app.inject({ url: '/healthz', headers: { 'x-stella-request-id': 'req-123' } });
    assert.equal(kept.headers['x-stella-request-id'], 'req-123');
    const replaced = await app.inject({ url: '/healthz', headers: { 'x-stella-request-id': 'bad id\n<script>' } });
    assert.match(String(replaced.headers['x-stella-request-id']), /^[0-9A-Z]{26}$/);
  });

  test('an authorised request resolves the tenant from the token and logs it, never the token', async () => {
    const token = await sign({});
    const res = await app.inject({
      method: 'POST',
      url: '/things',
      headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': 'acme' },
      payload: { name: 'n' },
    });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { tenant: 'acme', name: 'n' });
    assert.match(logged, /"tenant":"acme"/);
    assert.ok(!logged.includes(token), 'the bearer token never reaches the log');
  });

  test('tenantOf on a route without a tenant is a coded 500 naming the route', async () => {
    const res = await app.inject({ url: '/no-tenant' });
    assert.equal(res.statusCode, 500);
    assert.equal(res.json().code, 'ERR_INTERNAL');
  });

  test('errors become problem+json with registered codes; internals are not leaked', async () => {
    const boom = await app.inject('/boom');
    assert.equal(boom.statusCode, 500);
    assert.equal(boom.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(boom.json().code, 'ERR_INTERNAL');
    assert.ok(!boom.body.includes('secret internals'));

    const coded = await app.inject('/coded');
    assert.equal(coded.statusCode, 409);
    assert.equal(coded.json().code, 'ERR_CONFLICT');
    assert.equal(coded.json().resource, 'x');

    const token = await sign({});
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const tooBig = await app.inject({
      method: 'POST',
      url: '/things',
      headers,
      payload: JSON.stringify({ name: 'x'.repeat(2000) }),
    });
    assert.equal(tooBig.statusCode, 413);
    assert.equal(tooBig.json().code, 'ERR_BODY_TOO_LARGE');
    const invalid = await app.inject({
      method: 'POST',
      url: '/things',
      headers,
      payload: JSON.stringify({ name: 'x'.repeat(20) }),
    });
    assert.equal(invalid.json().code, 'ERR_VALIDATION');
    const expired = await sign({}, Math.floor(Date.now() / 1000) - 60);
    const stale = await app.inject({
      method: 'POST',
      url: '/things',
      headers: { ...headers, authorization: `Bearer ${expired}` },
      payload: { name: 'n' },
    });
    assert.equal(stale.statusCode, 401);
    assert.equal(stale.json().code, 'ERR_AUTH_INVALID_TOKEN');
  });

  test('microserviceOf names the room of a path for rate limits', () => {
    assert.equal(microserviceOf('/api/v1/timeline/events?x=1'), 'timeline');
    assert.equal(microserviceOf('/signals/runtime-facts'), 'signals');
    assert.equal(microserviceOf('/api/export/runs'), 'export');
    assert.equal(microserviceOf('/'), 'root');
  });
});

/** A quiet app with small caps and a short request timeout, listening on a real port. */
async function hostileApp(): Promise<{ app: HttpApp; port: number }> {
  const { app } = await createHttpApp({
    logger: createLogger({ level: 'silent' }),
    registry: createMetricsRegistry({ defaultMetrics: false }),
    requestBodyBytes: 64 * 1024,
    limits: { jsonDepth: 8, jsonKeys: 16, jsonStringLength: 256, identifierLength: 64 },
    requestTimeoutMs: 500,
    tenantHeader: 'X-Stella-Tenant',
    verifier: {
      verify: async () => {
        throw new StellaError(Errors.internal, 'no token is valid here');
      },
    },
    docsUi: false,
    version: 'test',
  });
  app.post('/echo', async (request) => ({ body: request.body }));
  app.get('/items/:id', async (request) => ({ params: request.params, query: request.query }));
  app.get('/private/:id', { config: { auth: { scopes: ['x:read'] } } }, async () => ({ ok: true }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  return { app, port: typeof address === 'object' && address ? address.port : 0 };
}

/** Sends raw bytes on a socket and resolves with everything the server wrote before closing. */
function rawExchange(port: number, request: string, options: { keepOpen?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('error', (error) => (answer ? resolve(answer) : reject(error)));
    socket.on('close', () => resolve(answer));
    socket.write(request, 'latin1');
    if (!options.keepOpen) socket.end();
    // Bounded: a server that never answers fails the test instead of hanging it.
    socket.setTimeout(5000, () => {
      socket.destroy();
      resolve(answer);
    });
  });
}

/** `data` as one chunk of a chunked request body. */
function httpChunk(data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
}

/** A raw client socket whose answer so far can be awaited, each wait bounded so nothing hangs. */
async function openPeer(port: number) {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let answer = '';
  let closed = false;
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    answer += chunk;
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
  });
  return {
    socket,
    answer: () => answer,
    closed: () => closed,
    until: (done: (answer: string) => boolean, what: string) =>
      waitFor(
        () => `${what}; got ${answer.slice(0, 200)}`,
        () => done(answer),
      ),
  };
}

/** Resolves when the socket can take more, or is ending: a reset (ECONNRESET) while the server closes
 * is the close under test, not a failure (events.once would reject on that 'error'). */
function drainedOrEnded(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      for (const event of ['drain', 'close', 'error']) socket.off(event, done);
      resolve();
    };
    for (const event of ['drain', 'close', 'error']) socket.once(event, done);
  });
}

function problemOf(raw: string): { status: number; contentType: string; body: Record<string, unknown> } {
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  const contentType = /^content-type:\s*(.+)$/im.exec(head)?.[1]?.trim() ?? '';
  return { status, contentType, body: body ? (JSON.parse(body) as Record<string, unknown>) : {} };
}

describe('HTTP factory: hostile input at the door', () => {
  let app: HttpApp;
  let port: number;
  before(async () => {
    ({ app, port } = await hostileApp());
  });
  after(() => app.close());

  const post = (payload: string) =>
    app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload });

  test('JSON bodies are checked against every cap before parsing, each breach with its own code', async () => {
    const cases: Array<[string, string]> = [
      [`${'['.repeat(9)}${']'.repeat(9)}`, 'ERR_LIMIT_JSON_DEPTH'],
      [`{"a":${'{"a":'.repeat(6000)}1${'}'.repeat(6001)}`, 'ERR_LIMIT_JSON_DEPTH'],
      [JSON.stringify(Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i]))), 'ERR_LIMIT_JSON_KEYS'],
      [JSON.stringify({ a: 'x'.repeat(257) }), 'ERR_LIMIT_STRING_LENGTH'],
      ['{"a":"\\ud800"}', 'ERR_INVALID_TEXT'],
      ['{"a":"\\udc00x"}', 'ERR_INVALID_TEXT'],
      ['{"a":"x\\u0000"}', 'ERR_INVALID_TEXT'],
      ['{"a":', 'ERR_MALFORMED_BODY'],
      ['', 'ERR_MALFORMED_BODY'],
    ];
    for (const [payload, code] of cases) {
      const res = await post(payload);
      assert.equal(res.statusCode, 400, `${code}: ${res.body}`);
      assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.equal(res.json().code, code, payload.slice(0, 40));
    }
    const fine = await post('\ufeff{"a":[1,{"b":"\\ud83d\\ude00"}]}');
    assert.equal(fine.statusCode, 200, fine.body);
    assert.deepEqual(fine.json(), { body: { a: [1, { b: '\u{1f600}' }] } });
  });

  test('__proto__ and constructor.prototype keys are refused; nothing is polluted', async () => {
    for (const payload of [
      '{"__proto__":{"polluted":true}}',
      '{"a":[{"b":{"\\u005f_proto__":{"polluted":true}}}]}',
      '{"constructor":{"prototype":{"polluted":true}}}',
    ]) {
      const res = await post(payload);
      assert.equal(res.statusCode, 400, payload);
      assert.equal(res.json().code, 'ERR_MALFORMED_BODY');
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((await post('{"constructor":"a string is data"}')).statusCode, 200);
  });

  test('path and query values with NUL, lone surrogates or over-long are 400s before auth, never 500s', async () => {
    const cases: Array<[string, number, string]> = [
      ['/items/a%00b', 400, 'ERR_INVALID_TEXT'],
      ['/private/a%00b', 400, 'ERR_INVALID_TEXT'],
      ['/items/ok?q=a%00', 400, 'ERR_INVALID_TEXT'],
      ['/items/ok?a%00=1', 400, 'ERR_INVALID_TEXT'],
      ['/items/ok?q=1&q=%00', 400, 'ERR_INVALID_TEXT'],
      [`/items/ok?q=${'x'.repeat(65)}`, 400, 'ERR_LIMIT_IDENTIFIER_LENGTH'],
      [`/items/${'x'.repeat(65)}`, 400, 'ERR_LIMIT_IDENTIFIER_LENGTH'],
      ['/items/%E0%A4%A', 400, 'ERR_BAD_REQUEST'],
      ['/items/%ED%A0%80', 400, 'ERR_BAD_REQUEST'],
    ];
    for (const [url, status, code] of cases) {
      const res = await app.inject({ url });
      assert.equal(res.statusCode, status, `${url}: ${res.body}`);
      assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8', url);
      assert.equal(res.json().code, code, url);
      assert.ok(res.headers['x-stella-request-id'], url);
    }
    // A cursor may be longer than an id (it carries one, base64-encoded), but not without bound.
    assert.equal((await app.inject({ url: `/items/ok?cursor=${'A'.repeat(100)}` })).statusCode, 200);
    assert.equal((await app.inject({ url: `/items/ok?cursor=${'A'.repeat(1000)}` })).statusCode, 400);
    const ok = await app.inject({ url: '/items/caf%C3%A9?q=%F0%9F%98%80' });
    assert.deepEqual(ok.json(), { params: { id: 'café' }, query: { q: '\u{1f600}' } });
  });

  test("Node's own refusals are problem+json too: oversized headers (431), malformed HTTP (400), a stalled body (408)", async () => {
    const big = problemOf(
      await rawExchange(port, `GET /items/x HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
    );
    assert.equal(big.status, 431);
    assert.equal(big.contentType, 'application/problem+json; charset=utf-8');
    assert.equal(big.body.code, 'ERR_HEADERS_TOO_LARGE');

    const garbage = problemOf(await rawExchange(port, 'GET /items/x HTTP/1.1\r\nHost x\r\n\r\n'));
    assert.equal(garbage.status, 400);
    assert.equal(garbage.contentType, 'application/problem+json; charset=utf-8');
    assert.equal(garbage.body.code, 'ERR_BAD_REQUEST');

    // Content-Length promises 100 bytes, 10 arrive, then the client stalls with the socket open.
    const stalled = problemOf(
      await rawExchange(
        port,
        'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":"1234',
        { keepOpen: true },
      ),
    );
    assert.equal(stalled.status, 408);
    assert.equal(stalled.contentType, 'application/problem+json; charset=utf-8');
    assert.equal(stalled.body.code, 'ERR_REQUEST_TIMEOUT');

    const after = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5000) });
    assert.equal(after.status, 200);
  });

  test('a body refused part-way is drained: the client reads its 413 and the connection carries its next request', async () => {
    const peer = await openPeer(port);
    peer.socket.write(
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
    );
    peer.socket.write(httpChunk(Buffer.alloc(100 * 1024, 0x20)));
    await peer.until((answer) => answer.includes('"code":"ERR_BODY_TOO_LARGE"'), 'the 413');
    assert.match(peer.answer(), /^HTTP\/1\.1 413 /);
    assert.doesNotMatch(peer.answer(), /\r\nconnection: close\r\n/i);
    // The client, still sending, finishes its body (1 MiB more), then asks again on the same socket.
    for (let i = 0; i < 16; i++) peer.socket.write(httpChunk(Buffer.alloc(64 * 1024, 0x20)));
    peer.socket.write('0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await peer.until((answer) => /\r\n\r\n[\s\S]*HTTP\/1\.1 200 /.test(answer), 'the next answer');
    assert.equal(peer.closed(), false);
    peer.socket.destroy();
  });

  test('a client that sends more than 16 MiB after its refusal has its connection closed', async () => {
    const peer = await openPeer(port);
    peer.socket.write(
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 999999999\r\n\r\n',
    );
    await peer.until((answer) => answer.includes('"code":"ERR_BODY_TOO_LARGE"'), 'the 413');
    const block = Buffer.alloc(1024 * 1024, 0x20);
    for (let i = 0; i < 18 && !peer.closed(); i++) {
      if (!peer.socket.write(block)) await drainedOrEnded(peer.socket);
    }
    await peer.until(() => peer.closed(), 'the close');
  });
});

describe('parseJsonBody', () => {
  const limits = { maxDepth: 4, maxKeys: 4, maxStringLength: 16 };
  test('well-formed JSON within the caps parses as JSON.parse would', () => {
    for (const text of ['null', '0', '"x"', '[]', '{}', '{"a":[1,2,{"b":null}]}', ' [ "\\u00e9" ] ']) {
      assert.deepEqual(parseJsonBody(text, limits), JSON.parse(text));
    }
  });
  test('prototype-shaped keys are found through escapes and at depth', () => {
    assert.throws(() => parseJsonBody('[[{"__pro\\u0074o__":1}]]', limits), { code: 'ERR_MALFORMED_BODY' });
    assert.deepEqual(parseJsonBody('{"proto":1,"constructor":{"name":"x"}}', limits), {
      proto: 1,
      constructor: { name: 'x' },
    });
  });
});

describe('paging cursors', () => {
  test('a cursor round-trips', () => {
    const time = '2025-01-02T03:04:05.678Z';
    assert.deepEqual(decodeCursor(encodeCursor(time, 'advisory_raw:osv:GO-1:1')), {
      time,
      id: 'advisory_raw:osv:GO-1:1',
    });
    assert.equal(decodeCursor(undefined), undefined);
    assert.equal(decodeCursor(''), undefined);
  });

  test('a tampered or undecodable cursor is a coded 400, never a value the database would refuse', () => {
    const b64 = (text: string) => Buffer.from(text).toString('base64url');
    const tampered = [
      'not a cursor!',
      '%%%',
      b64('not json'),
      b64('{"time":"2025-01-01T00:00:00.000Z","id":"x"}'),
      b64('["2025-01-01T00:00:00.000Z"]'),
      b64('["2025-01-01T00:00:00.000Z","x","extra"]'),
      b64('["yesterday","x"]'),
      b64('["2025-02-30T00:00:00.000Z","x"]'),
      b64('["2025-01-01 00:00:00","x"]'),
      b64('["2025-01-01T00:00:00.000Z",""]'),
      b64('["2025-01-01T00:00:00.000Z",7]'),
      b64('["2025-01-01T00:00:00.000Z","a\\u0000b"]'),
      b64('["2025-01-01T00:00:00.000Z","\\ud800"]'),
      b64(`["2025-01-01T00:00:00.000Z","${'x'.repeat(5000)}"]`),
    ];
    for (const cursor of tampered) {
      assert.throws(
        () => decodeCursor(cursor),
        (error: unknown) => error instanceof StellaError && error.code === 'ERR_INVALID_CURSOR' && error.status === 400,
        cursor.slice(0, 40),
      );
    }
    assert.throws(() => decodeCursor('%%%', Errors.validation), { code: 'ERR_VALIDATION' });
  });
});
