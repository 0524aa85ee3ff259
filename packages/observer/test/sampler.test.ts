// SPDX-License-Identifier: Apache-2.0
// The coverage sampler in this process: functions of a file on disk become events under the static
// builder's ids, once each in the default profile (also when the file starts with a function, which
// V8 then reports at offset 0 like the top level); eval and `new Function` code and Node's own
// modules are skipped; nothing in an event names a path on this machine.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { nodeSymbolId } from '@stella/callgraph-js';
import { scratchDir } from '@stella/testkit';
import { CoverageSampler, type RuntimeEvent } from '../src/index.ts';

test('functions that ran are events under the builder ids; eval, new Function and node: code are skipped', () => {
  const dir = scratchDir('stella-sampler-');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'sampled', version: '3.1.4' }));
  writeFileSync(
    join(dir, 'lib.js'),
    'function used(a) { return a + 1; }\nfunction unused() { return 0; }\nexports.used = used;\nexports.unused = unused;\n',
  );
  const events: RuntimeEvent[] = [];
  const sampler = new CoverageSampler({ profile: 'function', projectRoot: dir, onEvents: (e) => events.push(...e) });
  sampler.start();
  try {
    const lib = createRequire(join(dir, 'lib.js'))('./lib.js') as { used(a: number): number };
    lib.used(1);
    // Indirect eval (global scope): the point is code with no file behind it.
    // biome-ignore lint/security/noGlobalEval: eval of a constant, to prove such code is skipped
    const indirectEval = eval;
    indirectEval('(function evaluated() { return 2; })()');
    new Function('return 3')();
    sampler.take();
    lib.used(2);
    sampler.take();
  } finally {
    sampler.stop();
  }
  const ours = events.filter((e) => e.purl === 'pkg:npm/sampled@3.1.4');
  assert.deepEqual(
    ours.map((e) => e.symbolId).sort(),
    [
      nodeSymbolId('sampled', 'lib.js', '<module>', 'module'),
      nodeSymbolId('sampled', 'lib.js', 'used', 'function'),
    ].sort(),
    'each function once in binary mode; unused never',
  );
  assert.ok(sampler.stats().skippedScripts > 0, 'eval, new Function and node: scripts were skipped');
  for (const event of events) {
    assert.ok(!JSON.stringify(event).includes(dir), 'no path of this machine leaves the process');
    assert.match(event.codeId ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.equal(event.processId, process.pid);
  }
});
