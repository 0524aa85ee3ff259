import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { consoleTarget, IMMUTABLE_CACHE, REVALIDATE_CACHE } from '../src/static.ts';

const dist = '/srv/stella/dist';

test('client-side routes are the page; files keep their type and cache policy', () => {
  for (const path of ['', 'overview', 'timeline', 'callback', 'a/b/c']) {
    assert.deepEqual(consoleTarget(dist, path), { kind: 'page' }, path);
  }
  assert.deepEqual(consoleTarget(dist, 'assets/index-AbC123.js'), {
    kind: 'file',
    path: join(dist, 'assets/index-AbC123.js'),
    contentType: 'text/javascript; charset=utf-8',
    cacheControl: IMMUTABLE_CACHE,
  });
  const page = consoleTarget(dist, 'index.html');
  assert.equal(page.kind === 'file' && page.cacheControl, REVALIDATE_CACHE);
});

test('traversal, NUL, backslashes and unknown file types are refused', () => {
  for (const path of [
    '../package.json',
    'assets/../../src/module.ts',
    '..',
    './index.html',
    'assets/..',
    'index.html\0.png',
    '..\\secret.txt',
    'assets\\..\\..\\x.js',
    'db.sqlite',
    '.env.local',
  ]) {
    assert.equal(consoleTarget(dist, path).kind, 'refused', JSON.stringify(path));
  }
});
