import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { scratchDir } from '@stella/testkit';
import Type from 'typebox';
import {
  assertConfigSections,
  configKeys,
  defineConfigSection,
  loadConfig,
  renderConfigDocs,
} from '../src/config/index.ts';

// A room's section as a room declares it (src/config.ts): defaults, a description and a seed alias.
const room = defineConfigSection(
  'demoRoom',
  Type.Object(
    {
      batchSize: Type.Integer({ default: 200, minimum: 1, description: 'Rows per batch.' }),
      enabled: Type.Boolean({ default: true, description: 'Whether the room runs. Env: DEMO_ENABLED.' }),
    },
    { default: {}, additionalProperties: false },
  ),
  { DEMO_ENABLED: 'enabled' },
);

const home = () => scratchDir('stella-config-');

function expectConfigError(fn: () => unknown, pattern: RegExp) {
  assert.throws(fn, (error: { code?: string; message: string }) => {
    assert.equal(error.code, 'ERR_CONFIG');
    assert.match(error.message, pattern);
    return true;
  });
}

describe('config loader', () => {
  test('defaults need nothing set', () => {
    const dir = home();
    const { config, file } = loadConfig({ env: { STELLA_HOME: dir } });
    assert.equal(config.server.port, 8440);
    assert.equal(config.server.host, '127.0.0.1');
    assert.equal(config.server.target, 'all');
    assert.equal(config.database.url, '');
    assert.equal(config.auth.tokenTtlSeconds, 300);
    assert.equal(config.auth.tenantHeader, 'X-Stella-Tenant');
    assert.ok(config.limits.requestBodyBytes > 0 && config.limits.ndjsonLineBytes > 0);
    assert.ok(config.limits.decompressedBytes > 0 && config.limits.documentBytes > 0);
    assert.equal(config.home, dir);
    assert.equal(file, undefined);
  });

  test('the home defaults to ./.stella, made absolute', () => {
    const { config } = loadConfig({ env: {} });
    assert.equal(config.home, join(process.cwd(), '.stella'));
  });

  test('flags beat the environment, which beats stella.yaml, which beats defaults', () => {
    const dir = home();
    writeFileSync(join(dir, 'stella.yaml'), 'server:\n  port: 7000\n  host: 0.0.0.0\nlog:\n  level: debug\n');
    const fileOnly = loadConfig({ env: { STELLA_HOME: dir } });
    assert.equal(fileOnly.config.server.port, 7000);
    assert.equal(fileOnly.config.log.level, 'debug');
    assert.equal(fileOnly.file, join(dir, 'stella.yaml'));
    assert.equal(fileOnly.sources['server.port'], 'file');

    const envWins = loadConfig({ env: { STELLA_HOME: dir, STELLA_SERVER_PORT: '9000' } });
    assert.equal(envWins.config.server.port, 9000);
    assert.equal(envWins.config.server.host, '0.0.0.0', 'the file still supplies what env does not set');
    assert.equal(envWins.sources['server.port'], 'env');

    const flagWins = loadConfig({
      env: { STELLA_HOME: dir, STELLA_SERVER_PORT: '9000' },
      overrides: { server: { port: 9100 } },
    });
    assert.equal(flagWins.config.server.port, 9100);
  });

  test('--config names the file explicitly', () => {
    const dir = home();
    const path = join(dir, 'custom.yaml');
    writeFileSync(path, 'server:\n  target: worker\n');
    const { config, file } = loadConfig({ env: { STELLA_HOME: dir }, file: path });
    assert.equal(config.server.target, 'worker');
    assert.equal(file, path);
  });

  test('the seeds’ variable names work: STELLA_DATABASE_URL, STELLA_CAS_URL, STELLA_REDIS_URL, AOC_TENANT_HEADER', () => {
    const { config } = loadConfig({
      env: {
        STELLA_HOME: home(),
        STELLA_DATABASE_URL: 'postgres://app@db/stella',
        STELLA_CAS_URL: 's3://bucket/prefix',
        STELLA_REDIS_URL: 'redis://127.0.0.1:6379',
        AOC_TENANT_HEADER: 'X-Tenant',
      },
    });
    assert.equal(config.database.url, 'postgres://app@db/stella');
    assert.equal(config.cas.url, 's3://bucket/prefix');
    assert.equal(config.redis.url, 'redis://127.0.0.1:6379');
    assert.equal(config.auth.tenantHeader, 'X-Tenant');
  });

  test('numbers and booleans from the environment are coerced', () => {
    const { config } = loadConfig({
      env: { STELLA_HOME: home(), STELLA_SERVER_DOCS_UI: 'false', STELLA_LIMITS_REQUEST_BODY_BYTES: '2048' },
    });
    assert.equal(config.server.docsUi, false);
    assert.equal(config.limits.requestBodyBytes, 2048);
  });

  test('an invalid value stops start-up naming the key and where it came from', () => {
    expectConfigError(
      () => loadConfig({ env: { STELLA_HOME: home(), STELLA_SERVER_PORT: 'abc' } }),
      /server\.port.*STELLA_SERVER_PORT/,
    );
    expectConfigError(
      () => loadConfig({ env: { STELLA_HOME: home(), STELLA_SERVER_TARGET: 'nope' } }),
      /server\.target/,
    );
    expectConfigError(
      () => loadConfig({ env: { STELLA_HOME: home(), STELLA_LIMITS_REQUEST_BODY_BYTES: '10' } }),
      /limits\.requestBodyBytes/,
    );
    const dir = home();
    writeFileSync(join(dir, 'stella.yaml'), 'server:\n  prot: 1\n');
    expectConfigError(() => loadConfig({ env: { STELLA_HOME: dir } }), /server\.prot.*stella\.yaml/);
  });

  test('unreadable or malformed files are configuration errors', () => {
    const dir = home();
    expectConfigError(() => loadConfig({ env: { STELLA_HOME: dir }, file: join(dir, 'missing.yaml') }), /cannot read/);
    writeFileSync(join(dir, 'stella.yaml'), 'server: [unclosed\n');
    expectConfigError(() => loadConfig({ env: { STELLA_HOME: dir } }), /not valid YAML/);
    writeFileSync(join(dir, 'stella.yaml'), '- a\n- b\n');
    expectConfigError(() => loadConfig({ env: { STELLA_HOME: dir } }), /mapping at the top level/);
  });

  test('a __proto__ key in the file neither pollutes objects nor passes validation', () => {
    const dir = home();
    writeFileSync(
      join(dir, 'stella.yaml'),
      '__proto__:\n  polluted: true\nserver:\n  __proto__:\n    polluted: true\n',
    );
    loadConfig({ env: { STELLA_HOME: dir } });
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);
  });

  test('the rate_limiting block keeps the spec spelling in stella.yaml', () => {
    const dir = home();
    writeFileSync(
      join(dir, 'stella.yaml'),
      'rate_limiting:\n  for_instance:\n    rules: [ { per_seconds: 60, max_requests: 600 } ]\n',
    );
    const { config } = loadConfig({ env: { STELLA_HOME: dir } });
    assert.deepEqual(config.rateLimiting, { for_instance: { rules: [{ per_seconds: 60, max_requests: 600 }] } });
  });

  test("docs/config.md lists every key with its environment variable, the rooms' sections included", () => {
    const docs = renderConfigDocs([room]);
    for (const key of configKeys([room])) assert.ok(docs.includes(`\`${key.path}\``), key.path);
    assert.ok(docs.includes('`STELLA_SERVER_PORT`'));
    assert.ok(docs.includes('`AOC_TENANT_HEADER`'));
    assert.ok(docs.includes('| `demoRoom.batchSize` | `STELLA_DEMO_ROOM_BATCH_SIZE` | `200` | Rows per batch. |'));
    assert.ok(docs.includes('| `demoRoom.enabled` | `DEMO_ENABLED` |'));
  });
});

describe('room sections', () => {
  test('a room section takes its defaults, its generated env names, its aliases and the file', () => {
    const dir = home();
    assert.deepEqual(loadConfig({ env: { STELLA_HOME: dir }, sections: [room] }).config, {
      ...loadConfig({ env: { STELLA_HOME: dir } }).config,
      demoRoom: { batchSize: 200, enabled: true },
    });
    writeFileSync(join(dir, 'stella.yaml'), 'demoRoom:\n  batchSize: 50\n');
    const loaded = loadConfig({
      env: { STELLA_HOME: dir, DEMO_ENABLED: 'false', STELLA_DEMO_ROOM_BATCH_SIZE: '70' },
      sections: [room],
    });
    assert.deepEqual(Reflect.get(loaded.config, 'demoRoom'), { batchSize: 70, enabled: false });
    assert.equal(loaded.sources['demoRoom.enabled'], 'env');
    expectConfigError(
      () => loadConfig({ env: { STELLA_HOME: dir, DEMO_ENABLED: 'maybe' }, sections: [room] }),
      /demoRoom\.enabled .*from environment DEMO_ENABLED/,
    );
  });

  test('a file naming a section the build does not load is refused, naming the key', () => {
    const dir = home();
    writeFileSync(join(dir, 'stella.yaml'), 'demoRoom:\n  batchSize: 50\n');
    expectConfigError(() => loadConfig({ env: { STELLA_HOME: dir } }), /demoRoom/);
  });

  test('a section key is declared once and is camelCase', () => {
    assert.throws(() => loadConfig({ env: {}, sections: [room, room] }), /declared twice/);
    const clash = defineConfigSection('server', Type.Object({}, { default: {} }));
    assert.throws(() => loadConfig({ env: {}, sections: [clash] }), /declared twice/);
    assert.throws(() => defineConfigSection('demo-room', Type.Object({})), /camelCase/);
  });

  test("a configuration loaded without a mounted room's section is refused with a coded error", () => {
    const { config } = loadConfig({ env: {} });
    expectConfigError(() => assertConfigSections(config, [room]), /without the section\(s\) demoRoom/);
    assert.doesNotThrow(() => assertConfigSections(loadConfig({ env: {}, sections: [room] }).config, [room]));
  });
});
