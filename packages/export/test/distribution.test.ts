// SPDX-License-Identifier: Apache-2.0
// The object and oci distribution drivers against real backends: s3rver read back through the platform
// BlobStore with digest checks, and docker-registry read back by skopeo; a backend that is down fails
// the push quickly with ERR_EXPORT_006 naming the target.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createS3BlobStore, loadConfig } from '@stella/platform';
import {
  freePort,
  type RegistryServer,
  runSkopeo,
  type S3Server,
  scratchDir,
  startRegistry,
  startS3,
} from '@stella/testkit';
import { type ExportConfig, exportConfig as exportSection } from '../src/config.ts';
import {
  createDistributionDrivers,
  createObjectDriver,
  createOciDriver,
  type DistributionInput,
} from '../src/distribution/index.ts';

const CREATED = '2026-03-04T05:06:07.000Z';
const BUNDLE_MEDIA_TYPE = 'application/vnd.stellaops.export.bundle.v1.tar+zstd';
const PREFIX = 'stella/distribution';

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function exportConfig(overrides: Record<string, unknown> = {}): ExportConfig {
  const { config } = loadConfig({
    sections: [exportSection],
    env: { STELLA_HOME: scratchDir('stella-distribution-home-') },
    overrides: { export: overrides },
  });
  return config.export;
}

/** A staged bundle of random bytes and its export.json, as an export run hands them over. */
function exportInput(size = 2 * 1024 * 1024): { input: DistributionInput; bundleBytes: Buffer } {
  const dir = scratchDir('stella-distribution-');
  const bundleBytes = randomBytes(size);
  const path = join(dir, 'nightly-full-exp-0123.tar.zst');
  writeFileSync(path, bundleBytes);
  const manifestBytes = Buffer.from(
    `{"exportId":"exp-0123","profile":"nightly-full","nonce":"${randomBytes(8).toString('hex')}"}\n`,
  );
  return {
    bundleBytes,
    input: {
      tenant: 'acme',
      profileName: 'nightly-full',
      exportId: 'exp-0123456789abcdef01234567',
      runId: '8b1c9a52-1d7e-4f39-9d0a-5a8a1f1f2c11',
      createdAt: CREATED,
      bundle: {
        path,
        digest: sha256(bundleBytes),
        bytes: size,
        mediaType: BUNDLE_MEDIA_TYPE,
        fileName: 'nightly-full-exp-0123.tar.zst',
      },
      manifest: { bytes: manifestBytes, digest: sha256(manifestBytes) },
    },
  };
}

describe('createDistributionDrivers', () => {
  test('offers a driver only for a configured target', () => {
    assert.deepEqual(createDistributionDrivers(exportConfig()), {});
    const both = createDistributionDrivers(
      exportConfig({ objectStore: { url: 's3://bucket/prefix' }, oci: { registry: 'https://registry.example' } }),
    );
    assert.equal(both.object?.name, 'object');
    assert.equal(both.oci?.name, 'oci');
    const ociOnly = createDistributionDrivers(exportConfig({ oci: { registry: 'http://127.0.0.1:5000' } }));
    assert.deepEqual(Object.keys(ociOnly), ['oci']);
  });
});

describe('object driver (s3rver)', () => {
  let s3: S3Server;
  let objectStore: ExportConfig['objectStore'];
  before(async () => {
    s3 = await startS3();
    objectStore = exportConfig({
      objectStore: {
        url: `s3://${s3.bucket}/${PREFIX}`,
        endpoint: s3.endpoint,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
      },
    }).objectStore;
  });
  after(() => s3?.stop());

  test('stores the bundle and export.json under exports/<tenant>/<profile>, read back with digest checks', async () => {
    const { input, bundleBytes } = exportInput();
    const driver = createDistributionDrivers(exportConfig({ objectStore })).object;
    assert.ok(driver);
    const result = await driver.push(input);
    const hex = input.bundle.digest.slice('sha256:'.length);
    assert.equal(result.driver, 'object');
    assert.equal(result.digest, input.bundle.digest);
    assert.equal(result.target, `s3://${s3.bucket}/${PREFIX}/exports/acme/nightly-full/${hex.slice(0, 2)}/${hex}`);
    assert.ok(result.seconds > 0 && result.seconds < 60);

    const store = createS3BlobStore({ ...objectStore, endpoint: s3.endpoint });
    assert.deepEqual(await store.getBytes(`cas://exports/acme/nightly-full/${hex}`), bundleBytes);
    const chunks: Buffer[] = [];
    for await (const chunk of await store.get(`cas://exports/acme/nightly-full/${hex}`)) chunks.push(chunk as Buffer);
    assert.equal(sha256(Buffer.concat(chunks)), input.bundle.digest);
    const manifestHex = input.manifest.digest.slice('sha256:'.length);
    assert.deepEqual(
      await store.getBytes(`cas://exports/acme/nightly-full/${manifestHex}`),
      Buffer.from(input.manifest.bytes),
    );

    const listed: string[] = [];
    for await (const uri of store.list('exports/acme/nightly-full')) listed.push(uri);
    assert.deepEqual(
      listed.sort(),
      [`cas://exports/acme/nightly-full/${hex}`, `cas://exports/acme/nightly-full/${manifestHex}`].sort(),
    );

    const again = await driver.push(input);
    assert.equal(again.target, result.target);
  });

  test('a bundle that is not the digest the run recorded is refused and not stored', async () => {
    const { input } = exportInput(1024);
    writeFileSync(input.bundle.path, randomBytes(1024));
    const driver = createObjectDriver(objectStore);
    await assert.rejects(driver.push(input), (error: Error & { code: string; cause?: { code?: string } }) => {
      assert.equal(error.code, 'ERR_EXPORT_006');
      assert.match(
        error.message,
        new RegExp(`object store push to s3://${s3.bucket}/${PREFIX}/exports/acme/nightly-full failed`),
      );
      assert.equal(error.cause?.code, 'ERR_CAS_DIGEST_MISMATCH');
      return true;
    });
    const store = createS3BlobStore({ ...objectStore, endpoint: s3.endpoint });
    assert.equal(
      await store.head(`cas://exports/acme/nightly-full/${input.bundle.digest.slice('sha256:'.length)}`),
      undefined,
    );
  });

  test('an object store that is down fails quickly with ERR_EXPORT_006 naming the bucket, never the secret', async () => {
    const down = await startS3();
    const endpoint = down.endpoint;
    await down.stop();
    const { input } = exportInput(1024);
    const driver = createObjectDriver({ ...objectStore, endpoint, secretAccessKey: 'very-secret-key' });
    const started = performance.now();
    await assert.rejects(driver.push(input), (error: Error & { code: string }) => {
      assert.equal(error.code, 'ERR_EXPORT_006');
      assert.match(
        error.message,
        new RegExp(`s3://${s3.bucket}/${PREFIX}/exports/acme/nightly-full failed: .*connection refused`),
      );
      assert.doesNotMatch(error.message, /very-secret-key/);
      assert.ok(error.cause instanceof Error);
      return true;
    });
    assert.ok(performance.now() - started < 10_000, `took ${performance.now() - started} ms`);
  });

  test('an object store that never answers is given up on after the deadline', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const driver = createObjectDriver({ ...objectStore, endpoint }, { timeoutMs: 300 });
      await assert.rejects(driver.push(exportInput(1024).input), {
        code: 'ERR_EXPORT_006',
        message: /exports\/acme\/nightly-full failed: no answer within 300 ms/,
      });
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  test('a cancelled run rethrows the abort reason', async () => {
    const controller = new AbortController();
    const reason = new Error('run cancelled');
    controller.abort(reason);
    await assert.rejects(createObjectDriver(objectStore).push(exportInput(16).input, controller.signal), reason);
  });
});

describe('oci driver (docker-registry, read back by skopeo)', () => {
  let registry: RegistryServer;
  before(async () => {
    registry = await startRegistry();
  });
  after(() => registry?.stop());

  test('pushes bundle and export.json as one artifact to <prefix>/<tenant>/<profile>:<exportId>', async () => {
    const { input, bundleBytes } = exportInput();
    const driver = createDistributionDrivers(
      exportConfig({ oci: { registry: registry.url, repositoryPrefix: '/stella/exports/' } }),
    ).oci;
    assert.ok(driver);
    const result = await driver.push(input);
    const repository = `${registry.host}/stella/exports/acme/nightly-full`;
    assert.equal(result.driver, 'oci');
    assert.match(result.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(result.target, `${repository}:${input.exportId}@${result.digest}`);
    assert.ok(result.seconds > 0);

    const inspect = await runSkopeo(
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${repository}:${input.exportId}`,
    );
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.equal(sha256(Buffer.from(inspect.stdout)), result.digest);
    const manifest = JSON.parse(inspect.stdout);
    assert.equal(manifest.artifactType, 'application/vnd.stellaops.export.v1+json');
    assert.deepEqual(manifest.annotations, { 'org.opencontainers.image.created': CREATED });
    assert.equal(manifest.config.mediaType, 'application/vnd.oci.empty.v1+json');
    assert.deepEqual(manifest.layers, [
      {
        mediaType: BUNDLE_MEDIA_TYPE,
        digest: input.bundle.digest,
        size: input.bundle.bytes,
        annotations: { 'org.opencontainers.image.title': 'nightly-full-exp-0123.tar.zst' },
      },
      {
        mediaType: 'application/vnd.stellaops.export.manifest.v1+json',
        digest: input.manifest.digest,
        size: input.manifest.bytes.length,
        annotations: { 'org.opencontainers.image.title': 'export.json' },
      },
    ]);

    const out = scratchDir('stella-distribution-pull-');
    const copy = await runSkopeo(
      'copy',
      '--src-tls-verify=false',
      `docker://${repository}:${input.exportId}`,
      `dir:${out}`,
    );
    assert.equal(copy.code, 0, copy.stderr);
    assert.deepEqual(readFileSync(join(out, input.bundle.digest.slice('sha256:'.length))), bundleBytes);
    assert.deepEqual(
      readFileSync(join(out, input.manifest.digest.slice('sha256:'.length))),
      Buffer.from(input.manifest.bytes),
    );
  });

  test('the same export gives the same manifest digest, pushed again or from another driver', async () => {
    const { input } = exportInput(4096);
    const config = exportConfig({ oci: { registry: registry.url } }).oci;
    const first = await createOciDriver(config).push(input);
    const second = await createOciDriver(config).push(input);
    assert.equal(second.digest, first.digest);
    assert.equal(second.target, first.target);
    assert.match(first.target, /\/stella\/exports\/acme\/nightly-full:exp-0123456789abcdef01234567@sha256:/);
    const other = await createOciDriver(config).push({ ...input, createdAt: '2026-03-04T05:06:08.000Z' });
    assert.notEqual(other.digest, first.digest);
  });

  test('a bundle the artifact cannot describe fails as a distribution error too', async () => {
    const { input } = exportInput(16);
    const driver = createOciDriver(exportConfig({ oci: { registry: registry.url } }).oci);
    await assert.rejects(driver.push({ ...input, bundle: { ...input.bundle, mediaType: 'zstd tarball' } }), {
      code: 'ERR_EXPORT_006',
      message:
        /OCI push to stella\/exports\/acme\/nightly-full:exp-\w+ failed: layers\[0\]\.mediaType must be a media type/,
    });
  });

  test('a registry that is down fails with ERR_EXPORT_006 naming the target', async () => {
    const port = await freePort();
    const driver = createOciDriver(
      exportConfig({ oci: { registry: `http://127.0.0.1:${port}`, password: 'registry-secret' } }).oci,
    );
    const started = performance.now();
    await assert.rejects(driver.push(exportInput(16).input), (error: Error & { code: string }) => {
      assert.equal(error.code, 'ERR_EXPORT_006');
      assert.match(
        error.message,
        new RegExp(
          `OCI push to 127\\.0\\.0\\.1:${port}/stella/exports/acme/nightly-full:exp-0123456789abcdef01234567 failed: .*connection refused`,
        ),
      );
      assert.doesNotMatch(error.message, /registry-secret/);
      return true;
    });
    assert.ok(performance.now() - started < 5000);
  });
});
