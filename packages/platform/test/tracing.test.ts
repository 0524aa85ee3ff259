// Tracing's small parts: what a SQL span may show of a statement, the settings as the loader reads
// them from the environment, and "off" meaning no tracer at all. The spans themselves, exported to a
// real OTLP receiver, are tested end to end in packages/server/test/e2e/tracing.test.ts.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { scratchDir } from '@stella/testkit';
import Fastify from 'fastify';
import { loadConfig } from '../src/config/index.ts';
import { createLogger } from '../src/http/logger.ts';
import { operationOf, STATEMENT_CHARS, startTracing, statementForSpan } from '../src/telemetry/index.ts';

describe('SQL statements in spans', () => {
  test('quoted literals are blanked, placeholders and identifiers kept', () => {
    assert.equal(
      statementForSpan(`select * from clients where id = 'stella-admin' and secret = E'hunter''2' and n = $1`),
      'select * from clients where id = ? and secret = ? and n = $1',
    );
    assert.equal(statementForSpan(`create role app password 'p@ss' nologin`), 'create role app password ? nologin');
    assert.equal(statementForSpan(`do $body$ begin perform 'x'; end $body$; select 1`), 'do ?; select 1');
    assert.equal(statementForSpan(`select $$secret$$, $1`), 'select ?, $1');
    // A literal cut by the length cap is still blanked rather than shown in part.
    assert.equal(statementForSpan(`insert into t values ('never closed`), 'insert into t values (?');
  });

  test('a long statement is cut to STATEMENT_CHARS', () => {
    const long = `select ${'x, '.repeat(5000)}1`;
    const shown = statementForSpan(long);
    assert.equal(shown.length, STATEMENT_CHARS);
    assert.ok(shown.endsWith('…'));
    assert.ok(long.startsWith(shown.slice(0, -1)));
  });

  test('the operation is the first keyword, after comments', () => {
    assert.equal(operationOf('  select 1'), 'SELECT');
    assert.equal(operationOf('-- why\n/* and how */ insert into t values (1)'), 'INSERT');
    assert.equal(operationOf('WITH x AS (select 1) select * from x'), 'WITH');
    assert.equal(operationOf('  '), undefined);
  });
});

describe('tracing settings', () => {
  test('off by default, with the documented defaults', () => {
    const { config } = loadConfig({ env: { STELLA_HOME: scratchDir('stella-tracing-') } });
    assert.deepEqual(config.telemetry.tracing, {
      enabled: false,
      otlpEndpoint: '',
      serviceName: 'stella',
      sampleRatio: 1,
    });
  });

  test('STELLA_TELEMETRY_TRACING_* set every key', () => {
    const { config, sources } = loadConfig({
      env: {
        STELLA_HOME: scratchDir('stella-tracing-'),
        STELLA_TELEMETRY_TRACING_ENABLED: 'true',
        STELLA_TELEMETRY_TRACING_OTLP_ENDPOINT: 'http://127.0.0.1:4318/v1/traces',
        STELLA_TELEMETRY_TRACING_SERVICE_NAME: 'stella-api',
        STELLA_TELEMETRY_TRACING_SAMPLE_RATIO: '0.25',
      },
    });
    assert.deepEqual(config.telemetry.tracing, {
      enabled: true,
      otlpEndpoint: 'http://127.0.0.1:4318/v1/traces',
      serviceName: 'stella-api',
      sampleRatio: 0.25,
    });
    assert.equal(sources['telemetry.tracing.enabled'], 'env');
  });

  test('a bad endpoint or ratio stops start-up with ERR_CONFIG naming the variable', () => {
    const load = (env: Record<string, string>) => () =>
      loadConfig({ env: { STELLA_HOME: scratchDir('stella-tracing-'), ...env } });
    const refused = (pattern: RegExp) => (error: { code?: string; message: string }) => {
      assert.equal(error.code, 'ERR_CONFIG');
      assert.match(error.message, pattern);
      return true;
    };
    assert.throws(
      load({ STELLA_TELEMETRY_TRACING_OTLP_ENDPOINT: 'grpc://collector:4317' }),
      refused(/telemetry\.tracing\.otlpEndpoint .*STELLA_TELEMETRY_TRACING_OTLP_ENDPOINT/),
    );
    assert.throws(
      load({ STELLA_TELEMETRY_TRACING_SAMPLE_RATIO: '1.5' }),
      refused(/telemetry\.tracing\.sampleRatio .*STELLA_TELEMETRY_TRACING_SAMPLE_RATIO/),
    );
  });

  test('disabled tracing starts nothing', async () => {
    const { config } = loadConfig({ env: { STELLA_HOME: scratchDir('stella-tracing-') } });
    const tracing = await startTracing(config.telemetry.tracing, {
      logger: createLogger({ level: 'silent' }),
      target: 'all',
    });
    assert.equal(tracing, undefined);
  });

  test('with no otlpEndpoint the standard OTEL_EXPORTER_OTLP_ENDPOINT is used, /v1/traces appended', async () => {
    const received: { path: string | undefined; body: string }[] = [];
    const collector = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
      });
      request.on('end', () => {
        received.push({ path: request.url, body });
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const saved = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    const app = Fastify();
    try {
      const tracing = await startTracing(
        { enabled: true, otlpEndpoint: '', serviceName: 'stella-env', sampleRatio: 1 },
        { logger: createLogger({ level: 'silent' }), target: 'api' },
      );
      assert.ok(tracing);
      tracing.instrumentHttp(app);
      app.get('/ping', async () => 'pong');
      assert.equal((await app.inject('/ping')).body, 'pong');
      await tracing.shutdown();
    } finally {
      await app.close();
      if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      else process.env.OTEL_EXPORTER_OTLP_ENDPOINT = saved;
      await new Promise<void>((resolve) => collector.close(() => resolve()));
    }
    assert.equal(received.length, 1);
    assert.equal(received[0]!.path, '/v1/traces');
    assert.match(received[0]!.body, /"name":"GET \/ping"/);
    assert.match(received[0]!.body, /"stringValue":"stella-env"/);
  });
});
