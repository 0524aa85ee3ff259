import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { errorDefinitions } from '@stella/core';
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

/** Every .ts/.tsx file under packages/<room>/src (and web/), tests excluded. */
function sourceFiles(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && !['node_modules', 'dist', 'test'].includes(entry.name)) walk(path);
      else if (entry.isFile() && /\.tsx?$/.test(entry.name)) files.set(path, readFileSync(path, 'utf8'));
    }
  };
  walk(new URL('packages/', root).pathname);
  return files;
}

test('every code in docs/errors.md has something that raises it (or it is retired from the registry)', () => {
  const files = sourceFiles();
  // `<key>: defineError({ code: 'ERR_…'` under `const <Registry> = {`: the key each registry uses; or
  // `<key>: … defineError(NAME)` with NAME an `ErrorDefinition` constant declared above it.
  const defined: { registry: string; key: string; code: string; file: string }[] = [];
  for (const [file, text] of files) {
    let registry = '';
    let constant: string | undefined;
    const constants = new Map<string, string>();
    let pending: { registry: string; key: string; file: string } | undefined;
    for (const line of text.split('\n')) {
      constant = /^const (\w+): ErrorDefinition = \{/.exec(line)?.[1] ?? constant;
      registry = /^(?:export )?const (\w+)\s*=\s*\{/.exec(line)?.[1] ?? registry;
      const key = /^\s+(\w+):.*\bdefineError\((\w+)?/.exec(line);
      if (key?.[2] && constants.has(key[2]))
        defined.push({ registry, key: key[1]!, code: constants.get(key[2])!, file });
      else if (key) pending = { registry, key: key[1]!, file };
      const code = /code: '(ERR_[A-Z0-9_]+)'/.exec(line)?.[1];
      if (code && pending) {
        defined.push({ ...pending, code });
        pending = undefined;
      } else if (code && constant) {
        constants.set(constant, code);
        constant = undefined;
      }
    }
  }
  // The scan sees every registered code, so a code it misses cannot slip through.
  assert.deepEqual(
    defined.map((d) => d.code).sort(),
    errorDefinitions()
      .map((d) => d.code)
      .sort(),
  );
  const unraised = defined.filter(({ registry, key, code, file }) => {
    const use = new RegExp(`\\b${registry}\\.${key}\\b`);
    return ![...files].some(([path, text]) => use.test(text) || (path !== file && text.includes(`'${code}'`)));
  });
  assert.deepEqual(
    unraised.map((d) => `${d.code} (${d.registry}.${d.key} in ${d.file})`),
    [],
    'registered codes nothing raises: raise them where they apply, or retire them',
  );
});
