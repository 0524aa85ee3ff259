import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { spliceReadmePrerequisites } from '@stella/testkit';
import { generateDocs } from '../src/index.ts';

const root = new URL('../../../', import.meta.url);

test('committed docs (openapi.json, errors.md, config.md) match the code; run `npm run gen:docs` when this fails', async () => {
  const docs = await generateDocs();
  for (const [path, expected] of Object.entries(docs)) {
    const committed = readFileSync(new URL(path, root), 'utf8');
    assert.equal(committed, expected, `${path} is stale: run npm run gen:docs and commit the result`);
  }
  const openapi = JSON.parse(docs['docs/openapi.json']!) as {
    paths: Record<string, Record<string, { security?: unknown }>>;
  };
  assert.ok(openapi.paths['/api/v1/timeline/events']?.get?.security, 'authenticated routes declare bearer security');
});

test("README's prerequisites table is the list scripts/prerequisites.ts checks; run `npm run gen:docs` when this fails", () => {
  const readme = readFileSync(new URL('README.md', root), 'utf8');
  assert.equal(readme, spliceReadmePrerequisites(readme), 'README.md prerequisites are stale: run npm run gen:docs');
});
