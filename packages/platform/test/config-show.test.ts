// `stella config show` prints the effective configuration with every secret redacted: secret-named
// keys anywhere in the tree, passwords and tokens in URLs, credentials in query strings.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { scratchDir } from '@stella/testkit';
import { Command } from 'commander';
import Type from 'typebox';
import { redactSecretsInText, registerConfigCommands } from '../src/config/commands.ts';
import { loadConfig } from '../src/config/index.ts';
import { defineConfigSection } from '../src/config/section.ts';

// A room's section with credentials of its own, like the export room's distribution targets:
// redaction goes by key name across every section, the rooms' included.
const roomSection = defineConfigSection(
  'vault',
  Type.Object(
    {
      objectStore: Type.Object(
        {
          url: Type.String({ default: '' }),
          accessKeyId: Type.String({ default: '' }),
          secretAccessKey: Type.String({ default: '' }),
        },
        { default: {}, additionalProperties: false },
      ),
      oci: Type.Object(
        { username: Type.String({ default: '' }), password: Type.String({ default: '' }) },
        { default: {}, additionalProperties: false },
      ),
    },
    { default: {}, additionalProperties: false },
  ),
);

function show(env: Record<string, string>): string {
  let out = '';
  const program = new Command().exitOverride();
  registerConfigCommands(program, {
    io: {
      argv: [],
      env,
      stdout: {
        write: (s: string) => {
          out += s;
          return true;
        },
      } as unknown as NodeJS.WritableStream,
      stderr: process.stderr,
    },
    globals: () => ({ server: '', tenant: '', json: true, quiet: true }),
    loadConfig: () => loadConfig({ env, sections: [roomSection] }),
    configSections: [roomSection],
    migrate: () => Promise.reject(new Error('config show opens no database')),
  });
  program.parse(['config', 'show'], { from: 'user' });
  return out;
}

describe('stella config show', () => {
  test('passwords in URLs, secret-named keys, S3 keys, the KEK and client secret hashes are redacted', () => {
    const home = scratchDir('stella-config-show-');
    writeFileSync(
      join(home, 'stella.yaml'),
      [
        'auth:',
        '  clients:',
        '    - clientId: ci',
        '      secretHash: scrypt$32768$8$1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA==',
        '      tenants: [default]',
        '      scopes: [advisory:read]',
        'vault:',
        '  objectStore:',
        '    url: s3://bundles/stella',
        '    accessKeyId: AKIAEXAMPLEKEYID0001',
        '    secretAccessKey: wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY',
        '  oci:',
        '    username: robot',
        '    password: oci-registry-password',
        'rate_limiting:',
        '  process_back_pressure_when_more_than_per_5min: 5000',
        '  for_environment:',
        '    valkey_connection: redis://:valkey-env-password@valkey:6379/0',
        '    valkey_bucket: stella',
        '    rules: [{ per_seconds: 60, max_requests: 100 }]',
      ].join('\n'),
    );
    const out = show({
      STELLA_HOME: home,
      STELLA_DATABASE_URL: 'postgres://stella_app:pg-p%40ss@db.internal:5432/stella?sslmode=require&password=qp-secret',
      STELLA_REDIS_URL: 'redis://:redis-password@valkey:6379',
      STELLA_NATS_URL: 'nats://nats-user:nats-password@nats:4222',
      STELLA_CAS_URL: 's3://cas/prefix',
      STELLA_CAS_ACCESS_KEY_ID: 'AKIACASKEYID00000001',
      STELLA_CAS_SECRET_ACCESS_KEY: 'cas-secret-access-key',
      // STELLA_KEK is the documented name (an alias of auth.kek); STELLA_AUTH_KEK the generated one.
      STELLA_KEK: Buffer.alloc(32, 7).toString('base64'),
      STELLA_AUTH_KEK: Buffer.alloc(32, 7).toString('base64'),
    });
    const shown = JSON.parse(out) as { config: Record<string, Record<string, unknown>> };
    for (const secret of [
      'pg-p%40ss',
      'qp-secret',
      'redis-password',
      'nats-password',
      'AKIACASKEYID00000001',
      'cas-secret-access-key',
      'AKIAEXAMPLEKEYID0001',
      'wJalrXUtnFEMI',
      'oci-registry-password',
      'valkey-env-password',
      Buffer.alloc(32, 7).toString('base64'),
      'c2FsdHNhbHRzYWx0',
    ]) {
      assert.ok(!out.includes(secret), `${secret} is printed`);
    }
    // What is not secret stays readable, so the output is still useful.
    assert.equal(
      shown.config.database!.url,
      'postgres://stella_app:[redacted]@db.internal:5432/stella?sslmode=require&password=[redacted]',
    );
    assert.equal(shown.config.redis!.url, 'redis://:[redacted]@valkey:6379');
    assert.equal(shown.config.nats!.url, 'nats://nats-user:[redacted]@nats:4222');
    assert.equal(shown.config.cas!.url, 's3://cas/prefix');
    assert.equal(shown.config.cas!.secretAccessKey, '[redacted]');
    assert.equal(shown.config.auth!.kek, '[redacted]');
    assert.equal((shown.config.vault!.oci as Record<string, unknown>).username, 'robot');
    assert.match(out, /"valkey_connection": "redis:\/\/:\[redacted\]@valkey:6379\/0"/);
  });

  test('URL userinfo rules: a user alone stays, a NATS token as user goes, @ in a password is covered', () => {
    assert.equal(redactSecretsInText('postgres://reader@db/x'), 'postgres://reader@db/x');
    assert.equal(redactSecretsInText('nats://s3cr3t-token@nats:4222'), 'nats://[redacted]@nats:4222');
    assert.equal(redactSecretsInText('postgres://u:p@ss@db/x'), 'postgres://u:[redacted]@db/x');
    assert.equal(
      redactSecretsInText('https://bucket.s3/o?X-Amz-Credential=AKIA1&X-Amz-Signature=abc&part=1'),
      'https://bucket.s3/o?X-Amz-Credential=[redacted]&X-Amz-Signature=[redacted]&part=1',
    );
  });
});
