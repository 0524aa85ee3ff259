// SPDX-License-Identifier: Apache-2.0
// The builder on projects that are not tidy: a dependency's package.json that is not JSON, a package
// without a version, a file that does not parse, requires of things not installed, and the progress
// it reports. Nothing of that stops the build; each is named in the stats, and ids stay stable.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { scratchDir } from '@stella/testkit';
import { buildCallGraph } from '../src/build.ts';
import { nodeSymbolId } from '../src/ids.ts';

function project(files: Record<string, string>): string {
  const dir = scratchDir('stella-build-');
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

test('a broken package.json, a package without a version, a file that does not parse and a missing module are reported, and the rest is built', () => {
  const dir = project({
    'package.json': JSON.stringify({ name: 'untidy', version: '1.0.0', main: 'main.js' }),
    'main.js': [
      "const broken = require('broken');",
      "const nover = require('nover');",
      "const bad = require('./bad.js');",
      "let gone; try { gone = require('not-installed'); } catch {}",
      'function main() { broken.run(); nover.run(); }',
      'main();',
      '',
    ].join('\n'),
    'bad.js': 'function (\n',
    // Not JSON: the file is in no package of its own, so it is named from the project.
    'node_modules/broken/package.json': '{ "name": "broken", "version": ',
    'node_modules/broken/index.js': 'exports.run = function run() { return 1; };\n',
    // A name but no version: not a package for purls; its files belong to the enclosing one.
    'node_modules/nover/package.json': JSON.stringify({ name: 'nover', main: 'lib.js' }),
    'node_modules/nover/lib.js': 'exports.run = function run() { return 2; };\n',
  });
  const progress: [number, number][] = [];
  const { graph, stats } = buildCallGraph(dir, { onProgress: (scanned, queued) => progress.push([scanned, queued]) });

  assert.deepEqual(
    stats.manifestProblems.map((p) => p.file),
    ['node_modules/broken/package.json'],
  );
  assert.match(stats.manifestProblems[0]!.reason, /JSON/);
  assert.deepEqual(
    stats.parseErrors.map((p) => p.file),
    ['bad.js'],
  );
  assert.deepEqual(stats.unresolvedModules, ['not-installed']);
  const byName = (name: string) => graph.nodes.filter((n) => n.name === name);
  // Both `run`s are nodes, owned by the nearest package.json with a name and a version: the app's.
  const runs = byName('run').map((n) => n.id);
  assert.deepEqual(
    runs.sort(),
    [
      nodeSymbolId('untidy', 'node_modules/broken/index.js', 'run', 'function'),
      nodeSymbolId('untidy', 'node_modules/nover/lib.js', 'run', 'function'),
    ].sort(),
  );
  assert.ok(byName('run').every((n) => n.purl === 'pkg:npm/untidy@1.0.0'));
  const main = nodeSymbolId('untidy', 'main.js', 'main', 'function');
  for (const run of runs) assert.ok(graph.edges.some((e) => e.sourceId === main && e.targetId === run));
  assert.deepEqual(progress.at(-1), [stats.modules, 0], 'the last progress report is the end');
  assert.deepEqual(buildCallGraph(dir).graph, graph, 'same tree, same graph');
});

test('eval and new Function: code the builder cannot see is not invented', () => {
  const dir = project({
    'package.json': JSON.stringify({ name: 'evals', version: '1.0.0', main: 'main.js' }),
    'main.js': [
      "eval('function hidden() {}');",
      "const made = new Function('a', 'return a');",
      'function shown() { return made(1); }',
      'shown();',
      '',
    ].join('\n'),
  });
  const { graph } = buildCallGraph(dir);
  assert.deepEqual(graph.nodes.map((n) => n.name).sort(), ['<module>', 'shown']);
});
