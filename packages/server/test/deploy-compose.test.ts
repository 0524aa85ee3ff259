// The scaled-out compose file (ops/deploy/compose/compose.yaml) as far as this machine can check it
// without a container engine: make-secrets.sh writes its secrets, `docker-compose config` (Debian's
// Python docker-compose, which needs no engine for `config`) validates and resolves it, the resolved
// services are the topology the issue names, and each stella service's environment plus the stella.yaml
// secret load through stella's own config loader into the PostgreSQL, S3, Redis and NATS settings.
// The systemd units (ops/deploy/systemd) are checked by `systemd-analyze verify` and `security --offline`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { installLine, locateExecutable, scratchDir } from '@stella/testkit';
import { parse as parseYaml } from 'yaml';
import { IMAGE_HOME, IMAGE_PORT } from '../../../scripts/image.ts';
import { loadServerConfig } from '../src/index.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const COMPOSE_DIR = join(ROOT, 'ops/deploy/compose');

interface Service {
  image: string;
  command?: string[];
  environment?: Record<string, string>;
  secrets?: { source: string }[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
interface Resolved {
  services: Record<string, Service>;
  secrets: Record<string, { file: string }>;
  volumes: Record<string, unknown>;
}

/** A copy of the compose directory with fresh secrets, as an operator's checkout would have it. */
function composeWithSecrets(): string {
  const dir = join(scratchDir('stella-compose-'), 'compose');
  // Without secrets an operator may have made in the checkout: make-secrets.sh would refuse them.
  const own = join(COMPOSE_DIR, 'secrets');
  cpSync(COMPOSE_DIR, dir, { recursive: true, filter: (src) => src !== own && !src.startsWith(`${own}/`) });
  const made = spawnSync('sh', [join(dir, 'make-secrets.sh')], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  return dir;
}

function composeConfig(dir: string, env: Record<string, string> = {}) {
  return spawnSync(locateExecutable('docker-compose')!, ['--file', join(dir, 'compose.yaml'), 'config'], {
    encoding: 'utf8',
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
  });
}

describe('make-secrets.sh', () => {
  test('writes every secret compose.yaml names, private directory, and refuses to overwrite them', (t) => {
    if (!locateExecutable('openssl')) return t.skip(`openssl not installed (${installLine(['openssl'])})`);
    const dir = composeWithSecrets();
    const secrets = join(dir, 'secrets');
    assert.equal(statSync(secrets).mode & 0o777, 0o700);
    const compose = parseYaml(readFileSync(join(dir, 'compose.yaml'), 'utf8')) as {
      secrets: Record<string, { file: string }>;
    };
    for (const { file } of Object.values(compose.secrets)) {
      assert.ok(statSync(join(dir, file)).size > 0, `${file} written`);
    }
    const kek = readFileSync(join(secrets, 'stella_kek'), 'utf8');
    assert.equal(Buffer.from(kek.trim(), 'base64').length, 32);
    const again = spawnSync('sh', [join(dir, 'make-secrets.sh')], { encoding: 'utf8' });
    assert.equal(again.status, 2);
    assert.match(again.stderr, /not overwriting/);
    assert.equal(readFileSync(join(secrets, 'stella_kek'), 'utf8'), kek, 'the KEK is untouched');
  });
});

describe('compose.yaml (docker-compose config)', () => {
  let dir: string;
  let resolved: Resolved;
  const absent = ['docker-compose', 'openssl'].filter((p) => !locateExecutable(p));
  const why = absent.length ? `${absent.join(', ')} not installed (${installLine(absent)})` : undefined;

  before(() => {
    if (why) return;
    dir = composeWithSecrets();
    const run = composeConfig(dir, { STELLA_IMAGE: 'registry.example/stella:0.1.0' });
    assert.equal(run.status, 0, `docker-compose config failed:\n${run.stderr}`);
    resolved = parseYaml(run.stdout) as Resolved;
  });

  test('the topology: two API and two worker processes of the image, PostgreSQL, Valkey, NATS, MinIO', (t) => {
    if (why) return t.skip(why);
    const stella = Object.entries(resolved.services).filter(([, s]) => s.image === 'registry.example/stella:0.1.0');
    assert.deepEqual(
      stella.map(([name, s]) => [name, s.command]),
      [
        ['api-1', ['serve', '--target', 'api']],
        ['api-2', ['serve', '--target', 'api']],
        ['worker-1', ['serve', '--target', 'worker']],
        ['worker-2', ['serve', '--target', 'worker']],
      ],
    );
    const images = Object.fromEntries(Object.entries(resolved.services).map(([name, s]) => [name, s.image]));
    assert.match(images.postgres ?? '', /^postgres:1[5-9]/, 'PostgreSQL 15+');
    assert.match(images.valkey ?? '', /^valkey\/valkey:/);
    assert.match(images.nats ?? '', /^nats:/);
    assert.match(images.minio ?? '', /^minio\/minio:/);
    assert.match(images.lb ?? '', /^nginx:/);
    for (const [name, service] of stella) {
      assert.deepEqual(
        Object.keys(service.depends_on ?? {}).sort(),
        ['minio-bucket', 'nats', 'postgres', 'valkey'],
        `${name} waits for its stores`,
      );
      assert.equal(service.depends_on?.postgres?.condition, 'service_healthy');
      assert.deepEqual(service.secrets?.map((s) => s.source).sort(), ['stella.yaml', 'stella_kek']);
      assert.ok(service.volumes?.includes(`stella-home:${IMAGE_HOME}:rw`), `${name} shares the home volume`);
      assert.ok(service.healthcheck?.test.join(' ').includes(`127.0.0.1:${IMAGE_PORT}/readyz`));
    }
    const nginx = readFileSync(join(dir, 'nginx.conf'), 'utf8');
    assert.match(nginx, /server api-1:8440/);
    assert.match(nginx, /server api-2:8440/);
  });

  test("every stella service's environment and the stella.yaml secret load through stella's config", (t) => {
    if (why) return t.skip(why);
    const secretPath = (name: string) => resolved.secrets[name]!.file;
    for (const [name, service] of Object.entries(resolved.services)) {
      if (!service.command?.includes('serve')) continue;
      // Inside the container the secrets are at /run/secrets/<name>; here, at their files.
      const env = Object.fromEntries(
        Object.entries(service.environment ?? {}).map(([k, v]) => [
          k,
          v.replace(/^\/run\/secrets\/(.+)$/, (_, secret: string) => secretPath(secret)),
        ]),
      );
      const target = service.command[service.command.indexOf('--target') + 1]!;
      const { config } = loadServerConfig({
        env,
        file: env.STELLA_CONFIG,
        overrides: { server: { target } },
      });
      assert.equal(config.server.target, target, name);
      assert.match(config.database.url, /^postgres:\/\/stella_app:[0-9a-f]{48}@postgres:5432\/stella$/, name);
      assert.equal(config.cas.url, 's3://stella-cas/prod');
      assert.equal(config.cas.endpoint, 'http://minio:9000');
      assert.equal(config.cas.accessKeyId, readFileSync(secretPath('minio_root_user'), 'utf8').trim());
      assert.equal(config.cas.secretAccessKey, readFileSync(secretPath('minio_root_password'), 'utf8').trim());
      const valkeyPassword = readFileSync(secretPath('valkey.conf'), 'utf8')
        .replace(/^requirepass\s+/, '')
        .trim();
      assert.equal(config.redis.url, `redis://:${valkeyPassword}@valkey:6379`);
      assert.equal(config.nats.url, 'nats://nats:4222');
      assert.equal(config.auth.kekPath, secretPath('stella_kek'));
      assert.equal(config.server.publicUrl, 'http://localhost:8440');
      assert.equal(config.metrics.port, 9464);
      const dbPassword = readFileSync(secretPath('stella_db_password'), 'utf8').trim();
      assert.ok(config.database.url.includes(`:${dbPassword}@`), 'the role password postgres-init creates');
    }
  });

  test('a compose file with a mistake fails docker-compose config', (t) => {
    if (why) return t.skip(why);
    const broken = join(scratchDir('stella-compose-broken-'), 'compose');
    cpSync(dir, broken, { recursive: true });
    const text = readFileSync(join(broken, 'compose.yaml'), 'utf8').replace(
      'stop_grace_period: 20s',
      'stop_grace_period: [20s]',
    );
    writeFileSync(join(broken, 'compose.yaml'), text);
    const run = composeConfig(broken);
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /stop_grace_period/);
  });
});

describe('systemd units (systemd-analyze)', () => {
  const SYSTEMD_DIR = join(ROOT, 'ops/deploy/systemd');
  const NODE = join(ROOT, 'node_modules/node/bin/node');
  const analyze = locateExecutable('systemd-analyze');
  const why = analyze ? undefined : `systemd-analyze not installed (${installLine(['systemd-analyze'])})`;

  /** The unit as installed: an instance, with /opt/stella/{node,app} at this checkout's (the same layout). */
  function installed(template: string, instance: string, edit: (text: string) => string = (t) => t): string {
    const dir = scratchDir('stella-systemd-');
    const name = template.replace('@.service', `@${instance}.service`);
    const text = readFileSync(join(SYSTEMD_DIR, template), 'utf8')
      .replaceAll('/opt/stella/node', NODE)
      .replaceAll('/opt/stella/app', ROOT.replace(/\/$/, ''));
    writeFileSync(join(dir, name), edit(text));
    return join(dir, name);
  }
  function verify(unit: string) {
    return spawnSync(analyze!, ['verify', '--man=no', unit], { encoding: 'utf8', cwd: dirname(unit) });
  }

  for (const [template, instance, target] of [
    ['stella-api@.service', '8441', 'api'],
    ['stella-worker@.service', '8451', 'worker'],
  ] as const) {
    test(`${template}: verify passes without a warning; hardened (security --offline)`, (t) => {
      if (why) return t.skip(why);
      const unit = installed(template, instance);
      const text = readFileSync(unit, 'utf8');
      assert.match(text, new RegExp(`serve --target ${target}$`, 'm'));
      for (const line of ['ProtectSystem=strict', 'StateDirectory=stella', 'Restart=on-failure', 'DynamicUser=yes']) {
        assert.ok(text.includes(`\n${line}\n`), line);
      }
      assert.match(text, /^LoadCredential=stella\.yaml:/m);
      assert.match(text, /^LoadCredential=kek:/m);
      const run = verify(unit);
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stderr.trim(), '', 'no warnings');
      // Exposure 0-10 (shown); --threshold is in tenths. Above 2.0 means a hardening line went missing.
      const security = spawnSync(analyze!, ['security', '--offline=yes', '--threshold=20', unit], { encoding: 'utf8' });
      assert.equal(security.status, 0, `${security.stdout.split('\n').slice(-3).join('\n')}${security.stderr}`);
    });
  }

  test('a mistake in a unit is reported', (t) => {
    if (why) return t.skip(why);
    const typo = verify(
      installed('stella-api@.service', '8441', (s) => s.replace('Restart=on-failure', 'Restartt=on-failure')),
    );
    assert.match(typo.stderr, /Unknown key 'Restartt'/);
    const noNode = verify(installed('stella-api@.service', '8441', (s) => s.replaceAll(NODE, '/nonexistent/node')));
    assert.notEqual(noNode.status, 0);
    assert.match(noNode.stderr, /not executable/);
  });
});
