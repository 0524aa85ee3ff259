// Storage faults: which errors count as a full or read-only store, how readiness follows them (once
// logged per transition, probes rate-limited, recovery without restart) and how the guarded ports
// and the HTTP layer answer them (503 ERR_STORAGE_UNAVAILABLE instead of 500).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { Errors, StellaError } from '@stella/core';
import { createTokenVerifier } from '../src/auth/index.ts';
import type { BlobStore } from '../src/blob/index.ts';
import { createHttpApp, createLogger, createStorageHealth, guardBlobStore, storageFaultOf } from '../src/http/index.ts';
import { createMetricsRegistry } from '../src/metrics/index.ts';

function errno(code: string, syscall: string, path?: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${syscall}${path ? ` '${path}'` : ''}`), { code, syscall, path });
}

function databaseError(code: string, message: string, severity = 'ERROR') {
  return Object.assign(new Error(message), { code, severity });
}

function logSink() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: createLogger({ level: 'info', destination: stream }), lines };
}

describe('storage faults', () => {
  test('full and read-only stores are recognised by SQLSTATE or errno, through causes; other errors are not', () => {
    assert.equal(storageFaultOf(databaseError('53100', 'could not extend file'))?.kind, 'disk-full');
    assert.equal(storageFaultOf(databaseError('25006', 'read-only transaction'))?.kind, 'read-only');
    assert.equal(storageFaultOf(databaseError('25006', 'x'))?.store, 'database');
    // A session the server ended (a restart, pg_terminate_backend) or a connection that failed.
    assert.equal(
      storageFaultOf(databaseError('57P01', 'terminating connection due to administrator command'))?.kind,
      'stopped',
    );
    assert.equal(storageFaultOf(databaseError('08006', 'connection failure'))?.kind, 'stopped');
    const wrapped = new StellaError(Errors.internal, 'export failed', { cause: errno('ENOSPC', 'write') });
    assert.deepEqual(
      { kind: storageFaultOf(wrapped)?.kind, store: storageFaultOf(wrapped)?.store },
      { kind: 'disk-full', store: undefined },
      'a full device anywhere is a fault, of no store in particular',
    );
    assert.equal(storageFaultOf(new AggregateError([new Error('x'), errno('EROFS', 'open', '/a')]))?.kind, 'read-only');
    // EACCES means a read-only store only where the store threw it; elsewhere it is a wrong input path.
    assert.equal(storageFaultOf(errno('EACCES', 'open', '/etc/keys')), undefined);
    assert.equal(storageFaultOf(errno('EACCES', 'open', '/cas/.tmp/x'), 'cas')?.kind, 'read-only');
    // A file where the store keeps a directory: mkdir -p answers EEXIST, opening beneath it ENOTDIR.
    assert.equal(storageFaultOf(errno('EEXIST', 'mkdir', '/cas/.tmp'), 'cas')?.kind, 'unusable');
    assert.equal(storageFaultOf(errno('ENOTDIR', 'open', '/cas/.tmp/x'), 'cas')?.kind, 'unusable');
    assert.equal(storageFaultOf(errno('EEXIST', 'mkdir', '/out/bundle')), undefined);
    assert.equal(storageFaultOf(databaseError('23505', 'duplicate key')), undefined);
    assert.equal(storageFaultOf(databaseError('42501', 'row-level security')), undefined);
    assert.equal(storageFaultOf(Object.assign(new Error('no severity'), { code: '53100' })), undefined);
    assert.equal(storageFaultOf(new Error('plain')), undefined);
  });

  test('readiness: a fault is logged once, holds for a probe interval, and clears when a probe succeeds', async () => {
    const { logger, lines } = logSink();
    let clock = 0;
    let writable = true;
    let probes = 0;
    const health = createStorageHealth({ logger, probeIntervalMs: 1000, now: () => clock });
    const check = health.check('cas', async () => {
      probes++;
      if (!writable) throw errno('EROFS', 'open', '/home/cas/.tmp/probe');
    });

    await check();
    assert.equal(probes, 1);
    await check();
    assert.equal(probes, 1, 'within the interval the last result is reused');

    // A request meets a read-only CAS: readiness fails at once, without waiting for a probe.
    const seen = health.report(errno('EROFS', 'open', '/home/cas/.tmp/x'), 'cas');
    assert.equal(seen?.kind, 'read-only');
    health.report(errno('EROFS', 'open', '/home/cas/.tmp/y'), 'cas');
    await assert.rejects(check(), /read-only/);
    assert.equal(probes, 1, 'no probe before the interval since the fault has passed');
    assert.equal(lines.filter((l) => /storage cas is read-only/.test(String(l.msg))).length, 1, 'logged once');
    assert.deepEqual(
      health.faults().map((f) => f.store),
      ['cas'],
    );

    clock += 1000;
    writable = false;
    await assert.rejects(check(), /read-only/);
    assert.equal(probes, 2);
    assert.equal(lines.filter((l) => /storage cas/.test(String(l.msg))).length, 1, 'still one line while it lasts');

    clock += 1000;
    writable = true;
    await check();
    assert.deepEqual(health.faults(), []);
    assert.equal(lines.filter((l) => /storage cas accepts writes again/.test(String(l.msg))).length, 1);
  });

  test('concurrent readiness checks share one probe', async () => {
    const { logger } = logSink();
    let probes = 0;
    let release!: () => void;
    const health = createStorageHealth({ logger, probeIntervalMs: 1000 });
    const check = health.check('database', async () => {
      probes++;
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    const both = Promise.all([check(), check()]);
    release();
    await both;
    assert.equal(probes, 1);
  });

  test('a probe that fails for another reason fails readiness without being called a storage fault', async () => {
    const { logger } = logSink();
    const health = createStorageHealth({ logger, probeIntervalMs: 0 });
    const check = health.check('database', async () => {
      throw new Error('connection refused');
    });
    await assert.rejects(check(), /connection refused/);
    assert.deepEqual(health.faults(), []);
  });

  test('the guarded CAS answers ERR_STORAGE_UNAVAILABLE for faults and passes other errors through', async () => {
    const { logger } = logSink();
    const health = createStorageHealth({ logger, probeIntervalMs: 1000 });
    let failure: Error = errno('ENOSPC', 'write');
    const store = guardBlobStore(
      {
        put: async () => {
          throw failure;
        },
      } as unknown as BlobStore,
      health,
    );
    await assert.rejects(store.put('x', new Uint8Array(1)), (error: StellaError) => {
      assert.equal(error.code, Errors.storageUnavailable.code);
      assert.equal(error.status, 503);
      assert.equal((error.cause as NodeJS.ErrnoException).code, 'ENOSPC');
      return true;
    });
    assert.deepEqual(
      health.faults().map((f) => [f.store, f.kind]),
      [['cas', 'disk-full']],
    );
    failure = new StellaError(Errors.casNotFound, 'gone');
    await assert.rejects(store.put('x', new Uint8Array(1)), { code: Errors.casNotFound.code });
  });

  test('HTTP: a request failing on a full store answers 503 with a code, not 500, and readiness names the store', async () => {
    const { logger } = logSink();
    const health = createStorageHealth({ logger, probeIntervalMs: 60_000 });
    const { app, readiness } = await createHttpApp({
      logger,
      registry: createMetricsRegistry({ defaultMetrics: false }),
      requestBodyBytes: 1024,
      tenantHeader: 'X-Stella-Tenant',
      verifier: createTokenVerifier({
        issuer: 'http://issuer.test',
        audience: 'stella',
        clockSkewSeconds: 0,
        keys: { kind: 'local', jwks: async () => ({ keys: [] }) },
      }),
      docsUi: false,
      version: 'test',
      storage: health,
    });
    readiness.addCheck(
      'database',
      health.check('database', async () => {}),
    );
    readiness.markStarted();
    app.get('/write', async () => {
      throw new StellaError(Errors.internal, 'insert failed', {
        cause: databaseError('53100', 'could not extend file "base/5/16385": No space left on device'),
      });
    });
    try {
      assert.equal((await app.inject('/readyz')).statusCode, 200);
      const response = await app.inject('/write');
      assert.equal(response.statusCode, 503);
      assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.equal(response.json().code, Errors.storageUnavailable.code);
      const ready = await app.inject('/readyz');
      assert.equal(ready.statusCode, 503);
      assert.deepEqual(ready.json().failing, ['database']);
      assert.match(ready.json().checks.database, /full/);
      assert.equal((await app.inject('/healthz')).statusCode, 200, 'liveness is not readiness');
    } finally {
      await app.close();
    }
  });
});
