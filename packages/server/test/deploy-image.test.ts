// The OCI image from scripts/image.ts (`npm run image`): built without a base image into an OCI layout,
// pushed with skopeo to a throwaway docker-registry on loopback, read back with `skopeo inspect`
// (manifest and config), pulled back and unpacked by umoci, and run as root without an engine (mount,
// pid namespaces and a chroot by util-linux `unshare`) as the image's user: `stella serve` on embedded
// PGlite, or `--target api` and `--target worker` on the suite's PostgreSQL. Determinism is proven by
// building twice. A step this machine cannot run is skipped naming what is missing, never passed.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  freePort,
  installLine,
  locateExecutable,
  type RegistryServer,
  runSkopeo,
  scratchDir,
  startRegistry,
  testBackend,
  testDb,
  waitFor,
} from '@stella/testkit';
import {
  APP_DIR,
  type BuiltImage,
  buildImage,
  IMAGE_ENTRYPOINT,
  IMAGE_HOME,
  IMAGE_PORT,
  IMAGE_UID,
  type ImageConfig,
} from '../../../scripts/image.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** A build is about 20 s on an idle 2-core machine; the suite runs two files at once beside it. */
const BUILD_TIMEOUT_MS = 600_000;
/** The first start unpacks PGlite and runs every migration: about 15 s idle, far more under load. */
const START_DEADLINE_MS = 180_000;
/** serve drains within server.shutdownGraceMs (10 s) + 5 s, or exits 1 by itself. */
const STOP_DEADLINE_MS = 30_000;

/** The programs a step needs, by step; a missing one skips that step with the install line. */
function missing(...programs: string[]): string | undefined {
  const absent = programs.filter((p) => locateExecutable(p) === undefined);
  return absent.length ? `${absent.join(', ')} not installed (${installLine(absent)})` : undefined;
}

/** Why this machine cannot run an image without an engine, or undefined when it can. */
function cannotRun(): string | undefined {
  const tools = missing('unshare', 'umoci', 'setpriv');
  if (tools) return tools;
  if (process.getuid?.() !== 0)
    return (
      'running the image needs root (mount and pid namespaces, chroot); this test runs as uid ' + process.getuid?.()
    );
  const probe = spawnSync(locateExecutable('unshare')!, ['--mount', '--pid', '--fork', '--', '/bin/true'], {
    encoding: 'utf8',
  });
  if (probe.status !== 0)
    return `unshare --mount --pid cannot run here: ${probe.stderr.trim() || `exit ${probe.status}`}`;
  return undefined;
}

describe('OCI image (scripts/image.ts)', () => {
  const work = scratchDir('stella-image-test-');
  // This checkout may have no git remote to name the source by; the label is given.
  const SOURCE = 'https://git.example.org/stella';
  const options = { root: ROOT, out: join(work, 'layout'), tag: 'test', source: SOURCE };
  let image: BuiltImage;
  let registry: RegistryServer | undefined;
  const notRunnable = cannotRun();

  before(
    async () => {
      image = await buildImage(options);
    },
    { timeout: BUILD_TIMEOUT_MS },
  );
  after(async () => {
    await registry?.stop();
  });

  test('the config: entrypoint, command, user, port, home, labels, platform', () => {
    const { config } = image;
    assert.deepEqual(config.config.Entrypoint, [
      '/usr/local/bin/node',
      '--disable-proto=delete',
      '/app/packages/cli/src/bin.ts',
    ]);
    assert.deepEqual(config.config.Cmd, ['serve']);
    assert.equal(config.config.User, `${IMAGE_UID}:${IMAGE_UID}`);
    assert.notEqual(IMAGE_UID, 0);
    assert.deepEqual(Object.keys(config.config.ExposedPorts), ['8440/tcp']);
    assert.equal(config.os, 'linux');
    assert.equal(config.architecture, process.arch === 'arm64' ? 'arm64' : 'amd64');
    const sourceDateEpoch = Number(
      process.env.SOURCE_DATE_EPOCH ||
        execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8' }),
    );
    assert.equal(Date.parse(config.created), sourceDateEpoch * 1000, 'created is the commit time, not the build time');
    const labels = config.config.Labels;
    assert.equal(labels['org.opencontainers.image.licenses'], 'Apache-2.0');
    assert.equal(
      labels['org.opencontainers.image.version'],
      JSON.parse(readFileSync(join(ROOT, 'packages/core/package.json'), 'utf8')).version,
    );
    assert.equal(
      labels['org.opencontainers.image.revision'],
      execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim(),
    );
    assert.equal(labels['org.opencontainers.image.source'], SOURCE);
  });

  test('layers hold the runtime and its libraries, production dependencies only, and the app', (t) => {
    const absent = missing('tar');
    if (absent) return t.skip(absent);
    const members = (name: string) => {
      const layer = image.layers.find((l) => l.name === name)!;
      const listing = execFileSync(
        'tar',
        [
          '--list',
          '--verbose',
          '--numeric-owner',
          '--full-time',
          '--gzip',
          '--file',
          join(image.layout, 'blobs/sha256', layer.digest.slice(7)),
        ],
        { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
      );
      return listing
        .trimEnd()
        .split('\n')
        .map((line) => {
          const [mode, owner, , day, time, ...rest] = line.split(/\s+/);
          return { mode: mode!, owner: owner!, time: `${day} ${time}`, path: rest.join(' ').replace(/ -> .*$/, '') };
        });
    };
    const runtime = members('runtime');
    const files = runtime
      .filter((m) => !m.mode.startsWith('d'))
      .map((m) => m.path)
      .sort();
    const libraries = execFileSync('ldd', [join(ROOT, 'node_modules/node/bin/node')], { encoding: 'utf8' })
      .split('\n')
      .map((line) => (/=>\s+\/(\S+)/.exec(line) ?? /^\s*\/(\S+)\s+\(0x/.exec(line))?.[1])
      .filter((p): p is string => p !== undefined);
    assert.deepEqual(
      files,
      ['etc/group', 'etc/nsswitch.conf', 'etc/passwd', ...libraries, 'usr/local/bin/node'].sort(),
      'nothing else from the host',
    );
    const home = runtime.find((m) => m.path === `${IMAGE_HOME.slice(1)}/`);
    assert.deepEqual([home?.mode, home?.owner], ['drwx------', `${IMAGE_UID}/${IMAGE_UID}`]);
    assert.equal(runtime.find((m) => m.path === 'tmp/')?.mode, 'drwxrwxrwt');
    const all = [...runtime, ...members('dependencies'), ...members('app')];
    assert.deepEqual([...new Set(all.map((m) => m.time))], [all[0]!.time], 'one mtime for every member');
    assert.ok(
      all.every((m) => m.owner === '0/0' || m.path === `${IMAGE_HOME.slice(1)}/`),
      'owned by root but the home',
    );
    const paths = new Set(all.map((m) => m.path));
    for (const present of [
      'app/node_modules/fastify/package.json',
      'app/node_modules/@electric-sql/pglite/package.json',
      'app/packages/console/dist/index.html',
      'app/packages/platform/migrations/',
    ]) {
      assert.ok(paths.has(present), `${present} is in the image`);
    }
    for (const absentPath of [
      'app/node_modules/vite/',
      'app/node_modules/typescript/',
      'app/node_modules/@biomejs/',
      'app/node_modules/node/',
      'app/packages/testkit/',
      'app/packages/server/test/',
      'app/node_modules/@stella/testkit',
    ]) {
      assert.ok(
        ![...paths].some((p) => p.startsWith(absentPath)),
        `${absentPath} (build or test only) is not in the image`,
      );
    }
  });

  test('bad inputs stop the build before anything is written, each with what to fix', async () => {
    const out = join(work, 'refused');
    await assert.rejects(buildImage({ ...options, out, tag: 'bad tag' }), /not a valid OCI tag: bad tag/);
    await assert.rejects(buildImage({ ...options, out, gzipLevel: 0 }), /--gzip-level must be 1-9/);
    await assert.rejects(
      buildImage({ ...options, out, sourceDateEpoch: -1 }),
      /SOURCE_DATE_EPOCH must be whole seconds/,
    );
    await assert.rejects(buildImage({ ...options, out, source: 'git.example.org/stella' }), /must be an http\(s\) URL/);
    assert.equal(existsSync(out), false);
  });

  test('the same inputs give the same digests (built twice)', { timeout: BUILD_TIMEOUT_MS }, async (t) => {
    if (testBackend() === 'postgres') {
      return t.skip('proven on the pglite leg: the image bytes do not depend on the database backend');
    }
    const again = await buildImage({ ...options, out: join(work, 'again') });
    assert.deepEqual(
      again.layers.map((l) => [l.name, l.digest, l.diffId]),
      image.layers.map((l) => [l.name, l.digest, l.diffId]),
    );
    assert.equal(again.configDigest, image.configDigest);
    assert.equal(again.manifestDigest, image.manifestDigest);
    assert.equal(
      readFileSync(join(again.layout, 'index.json'), 'utf8'),
      readFileSync(join(image.layout, 'index.json'), 'utf8'),
    );
  });

  test('pushed to a registry with skopeo copy; skopeo inspect shows the manifest and the config', async (t) => {
    const absent = missing('skopeo', 'docker-registry');
    if (absent) return t.skip(absent);
    registry = await startRegistry();
    const remote = `docker://${registry.host}/stella:test`;
    const pushed = await runSkopeo('copy', '--dest-tls-verify=false', image.reference, remote);
    assert.equal(pushed.code, 0, pushed.stderr);

    const inspected = await runSkopeo('inspect', '--tls-verify=false', remote);
    assert.equal(inspected.code, 0, inspected.stderr);
    const summary = JSON.parse(inspected.stdout) as {
      Digest: string;
      Architecture: string;
      Os: string;
      Labels: Record<string, string>;
      Layers: string[];
      Env: string[];
    };
    assert.equal(summary.Digest, image.manifestDigest, 'the registry holds the manifest as built');
    assert.deepEqual(
      summary.Layers,
      image.layers.map((l) => l.digest),
    );
    assert.equal(summary.Architecture, image.config.architecture);
    assert.equal(summary.Os, 'linux');
    assert.deepEqual(summary.Labels, image.config.config.Labels);
    assert.ok(summary.Env.includes(`STELLA_HOME=${IMAGE_HOME}`));

    const configOut = await runSkopeo('inspect', '--config', '--tls-verify=false', remote);
    assert.equal(configOut.code, 0, configOut.stderr);
    const config = JSON.parse(configOut.stdout) as ImageConfig;
    assert.deepEqual(config.config.Entrypoint, IMAGE_ENTRYPOINT);
    assert.deepEqual(config.config.Cmd, ['serve']);
    assert.equal(config.config.User, `${IMAGE_UID}:${IMAGE_UID}`);
    assert.deepEqual(config.config.ExposedPorts, { [`${IMAGE_PORT}/tcp`]: {} });
    assert.equal(config.config.WorkingDir, APP_DIR);
    assert.deepEqual(config.config.Volumes, { [IMAGE_HOME]: {} });
    assert.deepEqual(
      config.rootfs.diff_ids,
      image.layers.map((l) => l.diffId),
    );
    for (const key of ['source', 'version', 'revision', 'licenses']) {
      assert.ok(config.config.Labels[`org.opencontainers.image.${key}`], `label org.opencontainers.image.${key}`);
    }
  });

  test('the pushed image runs `stella serve` (unpacked by umoci, started without an engine)', {
    timeout: BUILD_TIMEOUT_MS,
  }, async (t) => {
    if (notRunnable) return t.skip(`cannot run the image on this machine: ${notRunnable}`);
    if (!registry) return t.skip('the push step did not run (skopeo or docker-registry missing)');
    // Pulled back from the registry, so what runs is what a cluster would pull.
    const pulled = join(work, 'pulled');
    const pull = await runSkopeo(
      'copy',
      '--src-tls-verify=false',
      `docker://${registry.host}/stella:test`,
      `oci:${pulled}:test`,
    );
    assert.equal(pull.code, 0, pull.stderr);
    const bundle = join(work, 'bundle');
    execFileSync(locateExecutable('umoci')!, ['unpack', '--image', `${pulled}:test`, bundle], { stdio: 'pipe' });
    const rootfs = join(bundle, 'rootfs');
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as {
      process: { args: string[]; env: string[]; cwd: string; user: { uid: number; gid: number } };
    };
    // umoci's runtime spec is the image config as a container runtime would apply it.
    assert.deepEqual(config.process.args, [...IMAGE_ENTRYPOINT, 'serve']);
    assert.deepEqual([config.process.user.uid, config.process.user.gid], [IMAGE_UID, IMAGE_UID]);
    assert.equal(config.process.cwd, APP_DIR);

    if (testBackend() === 'pglite') {
      const port = await freePort();
      const server = startContainer(rootfs, config.process, ['serve'], { STELLA_SERVER_PORT: String(port) });
      try {
        await expectHealthy(t, server, port);
        const credentials = statSync(join(rootfs, IMAGE_HOME, 'credentials.json'));
        assert.equal(credentials.uid, IMAGE_UID, "the bootstrap wrote its credentials as the image's user");
        assert.match(server.log(), /embedded PGlite in \/var\/lib\/stella\/pg/);
      } finally {
        await server.stop();
      }
      assert.equal(server.exitCode(), 0, server.log());
      assert.match(server.log(), /\nstopped\n/);
      return;
    }

    // PostgreSQL: the scaled-out roles, one of each, sharing one database and one key-encryption key.
    const database = await testDb();
    try {
      const shared = {
        STELLA_DATABASE_URL: database.url!,
        STELLA_KEK: randomBytes(32).toString('base64'),
      };
      const apiPort = await freePort();
      const workerPort = await freePort();
      const api = startContainer(rootfs, config.process, ['serve', '--target', 'api'], {
        ...shared,
        STELLA_SERVER_PORT: String(apiPort),
      });
      const worker = startContainer(rootfs, config.process, ['serve', '--target', 'worker'], {
        ...shared,
        STELLA_SERVER_PORT: String(workerPort),
      });
      try {
        await expectHealthy(t, api, apiPort);
        await expectHealthy(t, worker, workerPort);
        assert.match(api.log(), /stella api listening/);
        assert.match(worker.log(), /stella worker listening/);
        assert.match(api.log(), /database: PostgreSQL/);
      } finally {
        await api.stop();
        await worker.stop();
      }
      assert.equal(api.exitCode(), 0, api.log());
      assert.equal(worker.exitCode(), 0, worker.log());
    } finally {
      await database.close();
    }
  });
});

interface Container {
  log(): string;
  exitCode(): number | null;
  /** SIGTERM to the process group (stella drains), then SIGKILL after STOP_DEADLINE_MS. */
  stop(): Promise<void>;
}

/**
 * Runs the image's process the way a runtime would, with what util-linux offers: new mount and pid
 * namespaces (a shell as their init mounts /proc and /dev/null into the root filesystem), then
 * `unshare --root --wd --setuid --setgid` enters it as the image's user. The image's Env applies, and
 * the listener stays on 127.0.0.1 (the network namespace is the host's). setpriv ties the namespace
 * to this test process: if the test dies, its init dies, and the kernel kills everything inside.
 */
function startContainer(
  rootfs: string,
  spec: { args: string[]; env: string[]; cwd: string; user: { uid: number; gid: number } },
  command: string[],
  env: Record<string, string>,
): Container {
  const args = [...spec.args.slice(0, IMAGE_ENTRYPOINT.length), ...command];
  const imageEnv = Object.fromEntries(spec.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  // set -e: a failed mount stops here; `wait` hands stella's exit status on as the shell's.
  const init = [
    'set -e',
    `mount -t proc proc ${quote(join(rootfs, 'proc'))}`,
    `: > ${quote(join(rootfs, 'dev/null'))}`,
    `mount --bind /dev/null ${quote(join(rootfs, 'dev/null'))}`,
    `${quote(locateExecutable('unshare')!)} --root=${quote(rootfs)} --wd=${quote(spec.cwd)} --setgid=${spec.user.gid} --setuid=${spec.user.uid} -- ${args.map(quote).join(' ')} &`,
    'wait $!',
  ].join('\n');
  const child: ChildProcess = spawn(
    locateExecutable('setpriv')!,
    [
      '--pdeathsig',
      'SIGKILL',
      '--',
      locateExecutable('unshare')!,
      '--mount',
      '--pid',
      '--fork',
      '--kill-child',
      '--',
      '/bin/sh',
      '-c',
      init,
    ],
    {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...imageEnv, STELLA_SERVER_HOST: '127.0.0.1', ...env },
    },
  );
  let log = '';
  const keep = (d: Buffer) => {
    log = (log + d.toString()).slice(-16_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    log: () => log,
    exitCode: () => child.exitCode,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // unshare blocks SIGTERM while it waits; the group reaches stella itself.
      process.kill(-child.pid!, 'SIGTERM');
      const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), STOP_DEADLINE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function expectHealthy(t: TestContext, container: Container, port: number): Promise<void> {
  const base = `http://127.0.0.1:${port}`;
  const health = await waitFor(
    () => `GET ${base}/healthz from the image; its output:\n${container.log()}`,
    async () => {
      if (container.exitCode() !== null)
        throw new Error(`the image exited ${container.exitCode()}:\n${container.log()}`);
      try {
        const response = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2000) });
        return response.status === 200 ? ((await response.json()) as { status: string }) : undefined;
      } catch {
        return undefined;
      }
    },
    { deadlineMs: START_DEADLINE_MS, intervalMs: 250 },
  );
  assert.equal(health.status, 'ok');
  const readiness = await waitFor(
    () => `GET ${base}/readyz 200; its output:\n${container.log()}`,
    async () => {
      const response = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(5000) });
      return response.status === 200 ? ((await response.json()) as { checks: Record<string, string> }) : undefined;
    },
    { deadlineMs: START_DEADLINE_MS, intervalMs: 250 },
  );
  assert.deepEqual(readiness.checks, { database: 'ok', cas: 'ok' });
  t.diagnostic(`image answered /healthz and /readyz on ${base}`);
}
