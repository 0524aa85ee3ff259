import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { HttpApp } from '@stella/platform';
import Fastify from 'fastify';
import { CONSOLE_BUILD_COMMAND, CONSOLE_CSP, createConsoleModule } from '../src/index.ts';

test('without a build, /console/ answers 503 naming the build command, under the CSP', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'stella-console-'));
  t.after(() => rmSync(empty, { recursive: true, force: true }));
  const app = Fastify();
  await createConsoleModule({ distDir: join(empty, 'dist') }).routes!(app as unknown as HttpApp, undefined as never);
  for (const url of ['/console/', '/console/overview']) {
    const response = await app.inject({ method: 'GET', url });
    assert.equal(response.statusCode, 503, url);
    assert.match(response.headers['content-type'] as string, /^text\/plain/);
    assert.ok(response.body.includes(CONSOLE_BUILD_COMMAND), response.body);
    assert.equal(response.headers['content-security-policy'], CONSOLE_CSP);
  }
});
