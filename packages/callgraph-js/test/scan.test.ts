// The module scanner: every function V8's precise coverage reports starts at the key the scanner
// gives it (the join between the observer and the static graph), names are qualified as documented,
// and bindings, requires and exports come out of CommonJS and ESM alike.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { scratchDir } from '@stella/testkit';
import { isBundled, scanModule } from '../src/scan.ts';
import { isSourceFile, isTypeScriptFile, scanFile } from '../src/typescript.ts';

const TARGET = `'use strict';
function decl(a) { return a + 1; }
const arrow = (x) => x * 2;
const fexpr = function named() { return 3; };
class C {
  constructor() { this.v = 1; }
  method() { return this.v; }
  static stat() { return 2; }
  static   spaced() { return 2; }
  get prop() { return 4; }
  set prop(v) { this.v = v; }
  async amethod() { return 5; }
  *gen() { yield 1; }
  ['comp' + 'uted']() { return 6; }
  #priv() { return 7; }
  callPriv() { return this.#priv(); }
}
const obj = { m() { return 1; }, n: function () { return 2; }, a: () => 3, async am() { return 4; }, get g() { return 5; } };
function Layer() {}
Layer.prototype.match = function match(p) { return p; };
exports.exp = function () { return 9; };
module.exports.run = function run() {
  decl(1); arrow(1); fexpr(); const c = new C(); c.method(); C.stat(); C.spaced(); c.prop; c.prop = 2; c.amethod();
  [...c.gen()]; c.computed(); c.callPriv(); obj.m(); obj.n(); obj.a(); obj.am(); obj.g; new Layer().match(1); exports.exp();
  [1].map((x) => x);
  (function () { return 1; })();
};
`;

const TS_TARGET = `interface Options { loud: boolean; times?: number }
type Greeting = \`hi \${string}\`;
export function greet(name: string, options: Options = { loud: false }): Greeting {
  const text: Greeting = \`hi \${name}\`;
  return (options.loud ? text.toUpperCase() : text) as Greeting;
}
export class Counter<T extends object> {
  private count: number = 0;
  add(item: T): this { this.count += item ? 1 : 0; return this; }
  get total(): number { return this.count; }
}
export const twice = <T,>(f: (x: T) => T, x: T): T => f(f(x));
export function run(): void {
  greet('a'); greet('b', { loud: true }); new Counter<object>().add({}).total; twice((n: number) => n + 1, 1);
}
`;

describe('scanFile on TypeScript', () => {
  test('functions of a .mts file Node runs (types stripped) start at the keys scanned from the file on disk', async () => {
    const dir = scratchDir('stella-scan-ts-');
    const file = join(dir, 'target.mts');
    writeFileSync(file, TS_TARGET);
    const session = new Session();
    session.connect();
    try {
      await session.post('Profiler.enable');
      await session.post('Profiler.startPreciseCoverage', { callCount: false, detailed: false });
      ((await import(file)) as { run(): void }).run();
      const { result } = await session.post('Profiler.takePreciseCoverage');
      const script = result.find((s) => s.url.endsWith('/target.mts'))!;
      const scan = scanFile(file, TS_TARGET);
      assert.equal(scan.parseError, undefined);
      const byKey = new Map(scan.functions.map((f) => [f.key, f]));
      const seen = script.functions
        .filter((f) => f.functionName !== '<instance_members_initializer>')
        .map((f) => {
          const entry = byKey.get(f.ranges[0]!.startOffset);
          assert.ok(entry, `V8 function ${f.functionName || '(anonymous)'} at ${f.ranges[0]!.startOffset} has no key`);
          return entry.qualifiedName;
        });
      assert.deepEqual(seen.sort(), scan.functions.map((f) => f.qualifiedName).sort());
      assert.ok(seen.includes('Counter.add') && seen.includes('greet') && seen.includes('twice'), String(seen));
    } finally {
      session.disconnect();
    }
  });

  test('an enum (code Node generates only under --experimental-transform-types) is reported, not guessed', () => {
    const scan = scanFile(
      '/p/e.ts',
      'export enum Color { Red, Green }\nexport function f(): Color { return Color.Red; }\n',
    );
    assert.match(scan.parseError ?? '', /--experimental-transform-types/);
    assert.deepEqual(
      scan.functions.map((f) => f.qualifiedName),
      ['<module>'],
    );
  });

  test('which files are scanned: JavaScript and the TypeScript Node runs, not declarations, JSON or TSX', () => {
    for (const yes of ['a.js', 'a.cjs', 'a.mjs', 'a.ts', 'a.mts', 'a.cts']) assert.ok(isSourceFile(yes), yes);
    for (const no of ['a.d.ts', 'a.d.mts', 'a.json', 'a.tsx', 'a.node']) assert.ok(!isSourceFile(no), no);
    assert.ok(isTypeScriptFile('x/y.cts') && !isTypeScriptFile('x/y.js'));
  });
});

describe('bundled or minified files', () => {
  test("a bundler's runtime or lines no one writes make a file bundled; its top level is <bundle>", () => {
    const minified = `"use strict";${Array.from({ length: 200 }, (_, i) => `function f${i}(a){return a+${i}}`).join(';')};module.exports={f0};\n`;
    const written = Array.from({ length: 200 }, (_, i) => `function f${i}(a) {\n  return a + ${i};\n}`).join('\n');
    assert.ok(isBundled(minified));
    assert.ok(isBundled('var __webpack_modules__ = {};\nfunction __webpack_require__(id) {}\n'));
    assert.ok(isBundled('var __commonJS = (cb, mod) => () => mod;\nvar require_x = __commonJS((exports) => {});\n'));
    assert.ok(!isBundled(written), 'long but written code');
    assert.ok(!isBundled('a'.repeat(3000)), 'too small to call minified');
    assert.equal(scanModule(minified).functions[0]!.qualifiedName, '<bundle>');
    assert.equal(scanModule(minified).bundled, true);
    assert.equal(scanModule(written).functions[0]!.qualifiedName, '<module>');
    assert.equal(scanModule(written).functions.length, 201, 'functions in a bundle are still scanned and keyed');
    // Over the size cap: not parsed, its top level only, as a bundle (the builder and the observer alike).
    const huge = scanModule(`function a() {}\n//${'x'.repeat(8 * 1024 * 1024)}\n`);
    assert.deepEqual(
      huge.functions.map((f) => f.qualifiedName),
      ['<bundle>'],
    );
    assert.equal(huge.oversized, true);
  });
});

describe('scanModule', () => {
  test("every function V8's precise coverage reports starts at a scanned key", async () => {
    const dir = scratchDir('stella-scan-');
    const file = join(dir, 'target.js');
    writeFileSync(file, TARGET);
    const session = new Session();
    session.connect();
    try {
      await session.post('Profiler.enable');
      await session.post('Profiler.startPreciseCoverage', { callCount: false, detailed: false });
      (createRequire(file)(file) as { run(): void }).run();
      const { result } = await session.post('Profiler.takePreciseCoverage');
      const script = result.find((s) => s.url.endsWith('/target.js'))!;
      const scan = scanModule(TARGET);
      const byKey = new Map(scan.functions.map((f) => [f.key, f]));
      const seen = script.functions
        .filter((f) => f.functionName !== '<instance_members_initializer>')
        .map((f) => {
          const entry = byKey.get(f.ranges[0]!.startOffset);
          assert.ok(entry, `V8 function ${f.functionName || '(anonymous)'} at ${f.ranges[0]!.startOffset} has no key`);
          return entry.qualifiedName;
        });
      assert.equal(seen.length, scan.functions.length, 'and every scanned function ran once');
      assert.deepEqual(seen.sort(), scan.functions.map((f) => f.qualifiedName).sort());
    } finally {
      session.disconnect();
    }
  });

  test('qualified names and kinds', () => {
    const scan = scanModule(TARGET);
    const names = Object.fromEntries(scan.functions.map((f) => [f.qualifiedName, f.kind]));
    assert.deepEqual(names, {
      '<module>': 'module',
      decl: 'function',
      arrow: 'function',
      fexpr: 'function',
      C: 'constructor',
      'C.method': 'method',
      'C.stat': 'method',
      'C.spaced': 'method',
      'C.prop': 'getter',
      'C.prop~2': 'setter',
      'C.amethod': 'method',
      'C.gen': 'method',
      'C.<computed:14>': 'method',
      'C.#priv': 'method',
      'C.callPriv': 'method',
      'obj.m': 'method',
      'obj.n': 'function',
      'obj.a': 'function',
      'obj.am': 'method',
      'obj.g': 'getter',
      Layer: 'function',
      'Layer.match': 'function',
      exp: 'function',
      run: 'function',
      'run/<anonymous:25>': 'function',
      'run/<anonymous:26>': 'function',
    });
    assert.deepEqual([...scan.exports.keys()].sort(), ['exp', 'run']);
  });

  test('CommonJS and ESM bindings, requests and exports', () => {
    const cjs = scanModule(`const a = require('a'); const { b, c: d } = require('./b'); const e = require('e').f;
module.exports = { x() { return a.y(); }, b, other: require('./other') };`);
    assert.deepEqual(
      cjs.requests.map((r) => r.specifier),
      ['a', './b', 'e', './other'],
    );
    assert.deepEqual(cjs.scopes[0]!.get('d'), { type: 'module', specifier: './b', member: 'c' });
    assert.deepEqual(cjs.scopes[0]!.get('e'), { type: 'module', specifier: 'e', member: 'f' });
    assert.deepEqual([...cjs.exports.keys()].sort(), ['b', 'other', 'x']);
    const esm = scanModule(`import x, { y as z } from 'pkg'; import * as ns from './ns.js';
export function f() { z(); ns.g(); } export default () => x(); export * from './all.js'; export { h as k } from './h.js';`);
    assert.deepEqual(esm.scopes[0]!.get('z'), { type: 'module', specifier: 'pkg', member: 'y' });
    assert.deepEqual(esm.reexportAll, ['./all.js']);
    assert.deepEqual([...esm.exports.keys()].sort(), ['default', 'f', 'k']);
    const reexport = scanModule(`module.exports = require('./lib');`);
    assert.deepEqual(reexport.reexportAll, ['./lib']);
  });

  test('a file that is neither a module nor a script scans as its module node with the reason', () => {
    const scan = scanModule('function (');
    assert.equal(scan.functions.length, 1);
    assert.match(scan.parseError!, /Unexpected token/);
  });
});
