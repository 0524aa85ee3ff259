// SPDX-License-Identifier: Apache-2.0
// OCI artifacts checked by an independent client: the manifest's shape and digest stability, the image
// layout writer read back by `skopeo inspect/copy oci:`, and pushes to a real docker-registry read back
// by `skopeo … docker://`, with basic and bearer auth exercised through a gate in front of the registry.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, type RegistryServer, runSkopeo, scratchDir, startRegistry } from '@stella/testkit';
import {
  buildArtifactManifest,
  OCI_EMPTY_DIGEST,
  type OciArtifact,
  pushArtifact,
  writeOciLayout,
} from '../src/oci/index.ts';

const TRIVY_ARTIFACT_TYPE = 'application/vnd.aquasec.trivy.config.v1+json';
const TRIVY_LAYER_TYPE = 'application/vnd.aquasec.trivy.db.layer.v1.tar+gzip';
const CREATED = '2026-01-02T03:04:05Z';

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function blobFile(dir: string, name: string, size: number) {
  const bytes = randomBytes(size);
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return { path, bytes, digest: sha256(bytes), size };
}

/** A Trivy-DB-shaped artifact: one gzip layer from a file, titled db.tar.gz. */
function trivyArtifact(dir: string, size = 3 * 1024 * 1024) {
  const db = blobFile(dir, 'db.tar.gz', size);
  const manifest = buildArtifactManifest({
    artifactType: TRIVY_ARTIFACT_TYPE,
    layers: [{ digest: db.digest, size: db.size, mediaType: TRIVY_LAYER_TYPE, title: 'db.tar.gz' }],
    annotations: { 'org.opencontainers.image.created': CREATED },
  });
  const artifact: OciArtifact = { manifest, blobs: [{ digest: db.digest, size: db.size, source: db.path }] };
  return { db, manifest, artifact };
}

describe('artifact manifest', () => {
  const layer = { digest: sha256(Buffer.from('db')), size: 2, mediaType: TRIVY_LAYER_TYPE, title: 'db.tar.gz' };

  test('is an image-spec 1.1 artifact manifest with the empty config and a titled layer', () => {
    const manifest = buildArtifactManifest({
      artifactType: TRIVY_ARTIFACT_TYPE,
      layers: [layer],
      annotations: { 'org.opencontainers.image.created': CREATED },
    });
    assert.equal(manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(manifest.digest, sha256(manifest.bytes));
    assert.deepEqual(JSON.parse(manifest.bytes.toString()), {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: TRIVY_ARTIFACT_TYPE,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: OCI_EMPTY_DIGEST, size: 2 },
      layers: [
        {
          mediaType: TRIVY_LAYER_TYPE,
          digest: layer.digest,
          size: 2,
          annotations: { 'org.opencontainers.image.title': 'db.tar.gz' },
        },
      ],
      annotations: { 'org.opencontainers.image.created': CREATED },
    });
    assert.equal(OCI_EMPTY_DIGEST, sha256(Buffer.from('{}')));
  });

  test('equal inputs give equal bytes, whatever the annotation order; another created time does not', () => {
    const a = buildArtifactManifest({
      artifactType: TRIVY_ARTIFACT_TYPE,
      layers: [layer],
      annotations: { 'org.opencontainers.image.created': CREATED, 'x.b': '2', 'x.a': '1' },
    });
    const b = buildArtifactManifest({
      artifactType: TRIVY_ARTIFACT_TYPE,
      layers: [{ ...layer }],
      annotations: { 'x.a': '1', 'x.b': '2', 'org.opencontainers.image.created': CREATED },
    });
    assert.deepEqual(a.bytes, b.bytes);
    assert.equal(a.digest, b.digest);
    const later = buildArtifactManifest({
      artifactType: TRIVY_ARTIFACT_TYPE,
      layers: [layer],
      annotations: { 'org.opencontainers.image.created': '2026-01-02T03:04:06Z', 'x.b': '2', 'x.a': '1' },
    });
    assert.notEqual(later.digest, a.digest);
  });

  test('bad descriptors are refused with ERR_VALIDATION', () => {
    const bad = [
      { artifactType: 'not a type', layers: [layer] },
      { artifactType: TRIVY_ARTIFACT_TYPE, layers: [] },
      { artifactType: TRIVY_ARTIFACT_TYPE, layers: [{ ...layer, digest: 'sha256:ABC' }] },
      { artifactType: TRIVY_ARTIFACT_TYPE, layers: [{ ...layer, size: -1 }] },
      { artifactType: TRIVY_ARTIFACT_TYPE, layers: [{ ...layer, title: '../db.tar.gz' }] },
    ];
    for (const input of bad) {
      assert.throws(() => buildArtifactManifest(input), { code: 'ERR_VALIDATION' }, JSON.stringify(input));
    }
  });
});

describe('OCI image layout, read back by skopeo', () => {
  test('skopeo resolves the tag, sees the manifest bytes and copies every blob with digest checks', async () => {
    const dir = scratchDir('stella-oci-layout-');
    const { db, manifest, artifact } = trivyArtifact(dir);
    const layout = join(dir, 'layout');
    await writeOciLayout(layout, { ...artifact, tag: '2' });

    assert.equal(readFileSync(join(layout, 'oci-layout'), 'utf8'), '{"imageLayoutVersion":"1.0.0"}');
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
    assert.deepEqual(index.manifests, [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: manifest.digest,
        size: manifest.bytes.length,
        artifactType: TRIVY_ARTIFACT_TYPE,
        annotations: { 'org.opencontainers.image.ref.name': '2' },
      },
    ]);
    assert.deepEqual(
      readdirSync(join(layout, 'blobs', 'sha256')).sort(),
      [db.digest, manifest.digest, OCI_EMPTY_DIGEST].map((d) => d.slice('sha256:'.length)).sort(),
    );

    const inspect = await runSkopeo('inspect', '--raw', `oci:${layout}:2`);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.equal(inspect.stdout, manifest.bytes.toString());

    const out = join(dir, 'copied');
    const copy = await runSkopeo('copy', `oci:${layout}:2`, `dir:${out}`);
    assert.equal(copy.code, 0, copy.stderr);
    assert.deepEqual(readFileSync(join(out, db.digest.slice('sha256:'.length))), db.bytes);
    assert.deepEqual(readFileSync(join(out, 'manifest.json')), manifest.bytes);
  });

  test('the same inputs write byte-identical layouts', async () => {
    const dir = scratchDir('stella-oci-layout-');
    const { artifact } = trivyArtifact(dir, 1000);
    await writeOciLayout(join(dir, 'a'), { ...artifact, tag: '2' });
    await writeOciLayout(join(dir, 'b'), { ...artifact, tag: '2' });
    for (const file of ['oci-layout', 'index.json']) {
      assert.deepEqual(readFileSync(join(dir, 'a', file)), readFileSync(join(dir, 'b', file)));
    }
  });

  test('a corrupted layer blob makes skopeo copy fail', async () => {
    const dir = scratchDir('stella-oci-layout-');
    const { db, artifact } = trivyArtifact(dir, 4096);
    const layout = join(dir, 'layout');
    await writeOciLayout(layout, { ...artifact, tag: '2' });
    const blobPath = join(layout, 'blobs', 'sha256', db.digest.slice('sha256:'.length));
    const bytes = readFileSync(blobPath);
    bytes[100] = (bytes[100] ?? 0) ^ 0xff;
    writeFileSync(blobPath, bytes);
    const copy = await runSkopeo('copy', `oci:${layout}:2`, `dir:${join(dir, 'copied')}`);
    assert.notEqual(copy.code, 0);
    assert.match(copy.stderr, /digest/i);
  });

  test('a source file that does not match its declared digest is refused and leaves no blob', async () => {
    const dir = scratchDir('stella-oci-layout-');
    const { db, artifact } = trivyArtifact(dir, 4096);
    writeFileSync(db.path, randomBytes(4096));
    const layout = join(dir, 'layout');
    await assert.rejects(writeOciLayout(layout, { ...artifact, tag: '2' }), {
      code: 'ERR_VALIDATION',
      message: new RegExp(`not the declared ${db.digest}`),
    });
    assert.ok(!readdirSync(join(layout, 'blobs', 'sha256')).includes(db.digest.slice('sha256:'.length)));
    assert.ok(!readdirSync(layout).includes('index.json'));
  });

  test('a layer without its blob, and an invalid tag, are refused', async () => {
    const dir = scratchDir('stella-oci-layout-');
    const { artifact } = trivyArtifact(dir, 10);
    await assert.rejects(writeOciLayout(join(dir, 'x'), { ...artifact, blobs: [], tag: '2' }), {
      code: 'ERR_VALIDATION',
      message: /no blob given for layer/,
    });
    await assert.rejects(writeOciLayout(join(dir, 'y'), { ...artifact, tag: '-bad' }), { code: 'ERR_VALIDATION' });
  });
});

type GateMode = 'open' | 'basic' | 'bearer' | 'deny' | 'fail';
const USER = 'pusher';
const PASSWORD = 'hunter2-secret';
const TOKEN = 'token-for-pusher';

/**
 * Stands in front of the real registry (which runs without auth here) and demands Basic credentials or
 * a bearer token from its own token endpoint, or fails every request, then forwards to the registry with
 * the Host header kept so upload Locations point back through the gate.
 */
class RegistryGate {
  mode: GateMode = 'open';
  seen: string[] = [];
  server: Server;
  url = '';

  constructor(upstream: RegistryServer) {
    const upstreamUrl = new URL(upstream.url);
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      this.seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? '-'}`);
      const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
      if (req.url?.startsWith('/token')) {
        if (req.headers.authorization !== basic) return void res.writeHead(401).end();
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: TOKEN }));
      }
      // HEAD answers carry no body, so the failure modes let checks through and fail the upload instead.
      if (this.mode === 'fail' && req.method !== 'HEAD') return void res.writeHead(500).end('upstream exploded');
      if (this.mode === 'deny' && req.method !== 'HEAD') {
        return void res
          .writeHead(403, { 'content-type': 'application/json' })
          .end(JSON.stringify({ errors: [{ code: 'DENIED', message: 'requested access to the resource is denied' }] }));
      }
      if (this.mode === 'basic' && req.headers.authorization !== basic) {
        return void res.writeHead(401, { 'www-authenticate': 'Basic realm="gate"' }).end();
      }
      if (this.mode === 'bearer' && req.headers.authorization !== `Bearer ${TOKEN}`) {
        const scope = /^\/v2\/(.+?)\/(?:blobs|manifests)\//.exec(req.url ?? '')?.[1];
        return void res
          .writeHead(401, {
            'www-authenticate': `Bearer realm="${this.url}/token",service="gate",scope="repository:${scope}:pull,push"`,
          })
          .end();
      }
      const headers = { ...req.headers };
      delete headers.authorization;
      const forward = request(
        { host: upstreamUrl.hostname, port: upstreamUrl.port, method: req.method, path: req.url, headers },
        (upstreamRes) => {
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          upstreamRes.pipe(res);
        },
      );
      forward.on('error', () => res.destroy());
      req.pipe(forward);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('pushing to a registry, read back by skopeo', () => {
  let registry: RegistryServer;
  let gate: RegistryGate;
  let dir: string;
  before(async () => {
    registry = await startRegistry();
    gate = new RegistryGate(registry);
    await gate.start();
    dir = scratchDir('stella-oci-push-');
  });
  after(async () => {
    await gate?.stop();
    await registry?.stop();
  });

  test('a Trivy-shaped artifact lands under its tag with the exact manifest and layer bytes', async () => {
    const { db, manifest, artifact } = trivyArtifact(dir);
    const result = await pushArtifact({ registry: registry.url }, 'mirror/trivy-db', '2', artifact);
    assert.deepEqual(result, {
      reference: `${registry.host}/mirror/trivy-db:2@${manifest.digest}`,
      digest: manifest.digest,
    });

    const inspect = await runSkopeo(
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${registry.host}/mirror/trivy-db:2`,
    );
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.equal(inspect.stdout, manifest.bytes.toString());
    const pushed = JSON.parse(inspect.stdout);
    assert.equal(pushed.artifactType, TRIVY_ARTIFACT_TYPE);
    assert.deepEqual(
      pushed.layers.map((l: { mediaType: string; annotations: Record<string, string> }) => [
        l.mediaType,
        l.annotations['org.opencontainers.image.title'],
      ]),
      [[TRIVY_LAYER_TYPE, 'db.tar.gz']],
    );

    const out = join(dir, 'pulled');
    const copy = await runSkopeo(
      'copy',
      '--src-tls-verify=false',
      `docker://${registry.host}/mirror/trivy-db:2`,
      `dir:${out}`,
    );
    assert.equal(copy.code, 0, copy.stderr);
    assert.deepEqual(readFileSync(join(out, db.digest.slice('sha256:'.length))), db.bytes);
  });

  test('blobs the registry already holds are not uploaded again', async () => {
    const { artifact } = trivyArtifact(dir, 2048);
    await pushArtifact({ registry: gate.url }, 'mirror/again', 'one', artifact);
    gate.seen = [];
    await pushArtifact({ registry: gate.url }, 'mirror/again', 'two', artifact);
    assert.equal(gate.seen.filter((line) => line.startsWith('POST ')).length, 0, gate.seen.join('\n'));
    assert.equal(gate.seen.filter((line) => line.startsWith('PUT /v2/mirror/again/manifests/two')).length, 1);
  });

  test('basic credentials are sent when configured', async () => {
    gate.mode = 'basic';
    try {
      const { manifest, artifact } = trivyArtifact(dir, 1024);
      const target = { registry: gate.url, username: USER, password: PASSWORD };
      const result = await pushArtifact(target, 'mirror/basic', '2', artifact);
      assert.equal(result.digest, manifest.digest);
      await assert.rejects(pushArtifact({ registry: gate.url }, 'mirror/basic', '3', artifact), (error: Error) => {
        assert.equal((error as Error & { code: string }).code, 'ERR_EXPORT_006');
        assert.match(error.message, /mirror\/basic:3.*requires credentials/);
        return true;
      });
    } finally {
      gate.mode = 'open';
    }
  });

  test('a bearer challenge is answered with a token fetched with the basic credentials', async () => {
    gate.mode = 'bearer';
    try {
      const { manifest, artifact } = trivyArtifact(dir, 1024);
      gate.seen = [];
      const result = await pushArtifact(
        { registry: gate.url, username: USER, password: PASSWORD },
        'mirror/bearer',
        '2',
        artifact,
      );
      assert.equal(result.digest, manifest.digest);
      assert.ok(
        gate.seen.some(
          (line) => line.startsWith('GET /token?') && line.includes('scope=repository%3Amirror%2Fbearer%3Apull%2Cpush'),
        ),
      );
      assert.ok(
        gate.seen.some(
          (line) => line.startsWith('PUT /v2/mirror/bearer/manifests/2') && line.endsWith(`Bearer ${TOKEN}`),
        ),
      );
      const inspect = await runSkopeo(
        'inspect',
        '--raw',
        '--tls-verify=false',
        `docker://${registry.host}/mirror/bearer:2`,
      );
      assert.equal(inspect.stdout, manifest.bytes.toString());
    } finally {
      gate.mode = 'open';
    }
  });

  test('wrong credentials fail with ERR_EXPORT_006 that never contains the password', async () => {
    const { artifact } = trivyArtifact(dir, 16);
    for (const mode of ['basic', 'bearer'] as const) {
      gate.mode = mode;
      try {
        await assert.rejects(
          pushArtifact(
            { registry: gate.url, username: USER, password: 'wrong-password' },
            'mirror/denied',
            '2',
            artifact,
          ),
          (error: Error & { code: string }) => {
            assert.equal(error.code, 'ERR_EXPORT_006');
            assert.match(error.message, /mirror\/denied:2/);
            assert.match(error.message, /refused the credentials/);
            assert.doesNotMatch(error.message, /wrong-password/);
            return true;
          },
        );
      } finally {
        gate.mode = 'open';
      }
    }
  });

  test('403 and 500 answers become ERR_EXPORT_006 naming the target, the step and the status', async () => {
    const { artifact } = trivyArtifact(dir, 16);
    gate.mode = 'deny';
    try {
      await assert.rejects(pushArtifact({ registry: gate.url }, 'mirror/x', '2', artifact), {
        code: 'ERR_EXPORT_006',
        message:
          /OCI push to 127\.0\.0\.1:\d+\/mirror\/x:2 failed: uploading blob sha256:\w+ \(2 bytes\): access denied \(HTTP 403\): DENIED: requested access/,
      });
      gate.mode = 'fail';
      await assert.rejects(pushArtifact({ registry: gate.url }, 'mirror/x', '2', artifact), {
        code: 'ERR_EXPORT_006',
        message: /registry error \(HTTP 500\): upstream exploded/,
      });
    } finally {
      gate.mode = 'open';
    }
  });

  test('a registry that is not running fails fast with connection refused', async () => {
    const { artifact } = trivyArtifact(dir, 16);
    const port = await freePort();
    const started = performance.now();
    await assert.rejects(
      pushArtifact({ registry: `http://127.0.0.1:${port}` }, 'mirror/x', '2', artifact),
      (error: Error & { code: string }) => {
        assert.equal(error.code, 'ERR_EXPORT_006');
        assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}/mirror/x:2 failed: .*connection refused`));
        assert.ok(error.cause instanceof Error);
        return true;
      },
    );
    assert.ok(performance.now() - started < 5000);
  });

  test('a registry that does not answer hits the timeout', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { artifact } = trivyArtifact(dir, 16);
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      await assert.rejects(pushArtifact({ registry: url }, 'mirror/x', '2', artifact, { timeoutMs: 200 }), {
        code: 'ERR_EXPORT_006',
        message: /no answer from 127\.0\.0\.1:\d+ within 200 ms/,
      });
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  test('cancelling rethrows the abort reason; bad names and credentials in the URL are refused', async () => {
    const { artifact } = trivyArtifact(dir, 16);
    const controller = new AbortController();
    const reason = new Error('run cancelled');
    controller.abort(reason);
    await assert.rejects(
      pushArtifact({ registry: registry.url }, 'mirror/x', '2', artifact, { signal: controller.signal }),
      reason,
    );
    await assert.rejects(pushArtifact({ registry: registry.url }, 'Mirror/X', '2', artifact), {
      code: 'ERR_EXPORT_006',
      message: /not a valid repository name/,
    });
    await assert.rejects(
      pushArtifact({ registry: `http://u:${PASSWORD}@127.0.0.1:1` }, 'mirror/x', '2', artifact),
      (error: Error) => {
        assert.match(error.message, /must not carry credentials/);
        assert.doesNotMatch(error.message, new RegExp(PASSWORD));
        return true;
      },
    );
  });
});
