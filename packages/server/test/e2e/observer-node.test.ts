// SPDX-License-Identifier: Apache-2.0
// The observer on small projects written here (no registry): functions that run only in a worker
// thread reach Signals from that thread's own observer, and TypeScript that Node runs as it is gets
// the same ids from the builder and from the observer; a dependency shipped minified without a source
// map is placed at package level (its <bundle> node), labelled weaker.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { nodeSymbolId } from '@stella/callgraph-js';
import { freePort, testBackend } from '@stella/testkit';
import { runCli, startTestServer, type TestServer } from '../helpers.ts';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

interface Fact {
  states: {
    target: string;
    advisoryId?: string;
    state: string;
    bucket: string;
    precision?: string;
    confidence: number;
    evidence: { runtimeHits: { symbolId: string }[] };
  }[];
}

/** A curated overlay entry for a minified package: its function names are mangled in what ships. */
const OVERLAY = { 'GHSA-test-minlib': { package: 'pkg:npm/minlib', symbols: ['parseThing'] } };

describe(`the observer on projects of its own (${testBackend()})`, () => {
  let t: TestServer;
  const cli = (args: string[]) => runCli(t, args);
  const api = async (path: string, body?: unknown) =>
    fetch(`${t.base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${await t.token()}`,
        'x-stella-tenant': 'default',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  /** Writes the project, builds and posts its graph; answers the callgraph id and the graph's node ids. */
  async function project(name: string, files: Record<string, string>, entries: string[], manifest: object = {}) {
    const dir = join(t.home, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', ...manifest }));
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), text);
    }
    const out = join(t.home, `${name}.graph.json`);
    const built = await cli(['callgraph', 'node', dir, ...entries.flatMap((e) => ['--entry', e]), '--out', out]);
    assert.equal(built.code, 0, built.stderr);
    const graph = JSON.parse(readFileSync(out, 'utf8')) as { nodes: { id: string }[] };
    const posted = await api('/signals/callgraphs', graph);
    assert.equal(posted.status, 202, await posted.clone().text());
    const { callgraphId } = (await posted.json()) as { callgraphId: string };
    return { dir, callgraphId, ids: new Set(graph.nodes.map((n) => n.id)) };
  }

  /** `stella observe … -- node <args>` in dir; resolves with the exit code and the output. */
  function observe(
    dir: string,
    callgraphId: string,
    component: string,
    args: string[],
    extraEnv: Record<string, string> = {},
    onOutput?: (text: string) => void,
  ) {
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'packages/cli/src/bin.ts'),
        'observe',
        '--callgraph-id',
        callgraphId,
        '--component',
        component,
        '--version',
        '1.0.0',
        '--',
        process.execPath,
        ...args,
      ],
      {
        cwd: dir,
        env: {
          PATH: process.env.PATH,
          STELLA_HOME: t.home,
          STELLA_SERVER: t.base,
          STELLA_OBSERVER_SPOOL_DIR: join(t.home, 'observer-spool'),
          ...extraEnv,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    const collect = (d: Buffer) => {
      output += d.toString();
      onOutput?.(output);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const exited = new Promise<{ code: number | null; output: string }>((resolve) =>
      child.on('exit', (code) => resolve({ code, output })),
    );
    return Object.assign(exited, { child });
  }

  async function verdicts(component: string, targets: string[]) {
    const subjectKey = `${component}|1.0.0`;
    const recomputed = await api('/signals/reachability/recompute', { subjectKey, targets, wait: true });
    assert.equal(recomputed.status, 200, await recomputed.clone().text());
    const fact = (await (await api(`/signals/facts/${encodeURIComponent(subjectKey)}`)).json()) as Fact;
    return new Map(fact.states.map((s) => [s.target, s]));
  }

  async function states(component: string) {
    const subjectKey = `${component}|1.0.0`;
    return ((await (await api(`/signals/facts/${encodeURIComponent(subjectKey)}`)).json()) as Fact).states;
  }

  before(async () => {
    const overlay = join(mkdtempSync(join(tmpdir(), 'stella-overlay-')), 'overlay.json');
    writeFileSync(overlay, JSON.stringify(OVERLAY));
    // A fixed port: the outage test brings stella back where the observer expects it.
    t = await startTestServer({
      STELLA_SIGNALS_SYMBOL_OVERLAY_PATH: overlay,
      STELLA_SERVER_PORT: String(await freePort()),
    });
  });
  after(() => t.close());

  test('a worker thread is observed too: what ran only in the worker reaches Signals under the static id', async () => {
    const name = 'worker-app';
    const { dir, callgraphId, ids } = await project(
      name,
      {
        'main.js': [
          "const { Worker } = require('node:worker_threads');",
          "const { join } = require('node:path');",
          'function onlyInMain() { return 1; }',
          'onlyInMain();',
          "const worker = new Worker(join(__dirname, 'work.js'), { workerData: 1000 });",
          "worker.on('message', (sum) => console.log('sum', sum));",
          '',
        ].join('\n'),
        'work.js': [
          "const { parentPort, workerData } = require('node:worker_threads');",
          'function onlyInWorker(n) { let s = 0; for (let i = 0; i < n; i++) s += i; return s; }',
          'function neverCalled() { return 0; }',
          'parentPort.postMessage(onlyInWorker(workerData));',
          '',
        ].join('\n'),
      },
      ['main.js', 'work.js'],
    );
    const id = (file: string, fn: string) => nodeSymbolId(name, file, fn, 'function');
    const targets = [id('main.js', 'onlyInMain'), id('work.js', 'onlyInWorker'), id('work.js', 'neverCalled')];
    for (const target of targets) assert.ok(ids.has(target), target);

    const run = await observe(dir, callgraphId, name, ['main.js']);
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /sum 499500/);
    const states = await verdicts(name, targets);
    for (const ran of targets.slice(0, 2)) {
      const s = states.get(ran)!;
      assert.ok(
        s.evidence.runtimeHits.some((h) => h.symbolId === ran),
        `${ran}: ${JSON.stringify(s)}\n${run.output}`,
      );
    }
    assert.deepEqual(states.get(targets[2]!)!.evidence.runtimeHits, []);
  });

  test('TypeScript run by Node (types stripped): static reachability and runtime hits land on the same nodes', async () => {
    const name = 'ts-app';
    const { dir, callgraphId, ids } = await project(
      name,
      {
        'main.ts': [
          "import { greet } from './lib/greet.ts';",
          "import type { Options } from './lib/greet.ts';",
          'interface Args { loud: boolean }',
          'function shout(text: string, args: Args): string {',
          '  const options: Options = { loud: args.loud };',
          '  return greet(text, options);',
          '}',
          "console.log(shout('ts', { loud: true }));",
          '',
        ].join('\n'),
        'lib/greet.ts': [
          'export interface Options { loud: boolean }',
          'export function greet(name: string, options: Options): string {',
          "  const text: string = 'hi ' + name;",
          '  return options.loud ? text.toUpperCase() : text;',
          '}',
          "export function farewell(name: string): string { return 'bye ' + name; }",
          '',
        ].join('\n'),
      },
      [],
      { type: 'module', main: 'main.ts' },
    );
    const id = (file: string, fn: string) => nodeSymbolId(name, file, fn, 'function');
    const targets = [id('main.ts', 'shout'), id('lib/greet.ts', 'greet'), id('lib/greet.ts', 'farewell')];
    for (const target of targets) assert.ok(ids.has(target), target);

    const run = await observe(dir, callgraphId, name, ['main.ts']);
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /HI TS/);
    const states = await verdicts(name, targets);
    for (const ran of targets.slice(0, 2)) {
      const s = states.get(ran)!;
      assert.equal(s.state, 'ConfirmedReachable', `${ran}: ${JSON.stringify(s)}\n${run.output}`);
      assert.ok(s.evidence.runtimeHits.some((h) => h.symbolId === ran));
    }
    assert.equal(states.get(targets[2]!)!.state, 'StaticallyUnreachable');
  });

  test('a dependency shipped minified without a source map: the overlay symbol falls back to its <bundle> node, precision package', async () => {
    const name = 'bundle-app';
    const minified = `"use strict";${Array.from({ length: 200 }, (_, i) => `function f${i}(a){return a+${i}}`).join(';')};function p(e){return String(e).split(",").map(function(t){return t.trim()})}module.exports={p:p};\n`;
    const { dir, callgraphId, ids } = await project(
      name,
      {
        'main.js': "const { p } = require('minlib');\nconsole.log(p('a, b').join('|'));\n",
        'node_modules/minlib/package.json': JSON.stringify({ name: 'minlib', version: '2.0.0', main: 'dist/min.js' }),
        'node_modules/minlib/dist/min.js': minified,
      },
      ['main.js'],
      { dependencies: { minlib: '2.0.0' } },
    );
    const bundle = nodeSymbolId('minlib', 'dist/min.js', '<bundle>', 'module');
    assert.ok(ids.has(bundle), 'the minified file is a <bundle> node');
    const run = await observe(dir, callgraphId, name, ['main.js']);
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /a\|b/);
    const recomputed = await api('/signals/reachability/recompute', {
      subjectKey: `${name}|1.0.0`,
      targets: [],
      wait: true,
    });
    assert.equal(recomputed.status, 200, await recomputed.clone().text());
    const minlib = (await states(name)).filter((s) => s.advisoryId === 'GHSA-test-minlib');
    assert.equal(minlib.length, 1, JSON.stringify(minlib));
    assert.equal(minlib[0]!.target, bundle);
    assert.equal(minlib[0]!.precision, 'package');
    assert.equal(minlib[0]!.state, 'ConfirmedReachable', JSON.stringify(minlib[0]));
    assert.ok(
      minlib[0]!.evidence.runtimeHits.some((h) => h.symbolId === bundle),
      'the observer named the same node',
    );
    const vex = (await (await api(`/signals/facts/${encodeURIComponent(`${name}|1.0.0`)}/vex`)).json()) as {
      statements: { vulnerability: { name: string }; status: string }[];
    };
    const statement = vex.statements.find((st) => st.vulnerability.name === 'GHSA-test-minlib');
    assert.equal(statement?.status, 'under_investigation', JSON.stringify(vex));
  });

  test('stella stopped while the observed app runs: the app keeps serving, and what ran meanwhile arrives once stella is back', async () => {
    const name = 'outage-app';
    const { dir, callgraphId } = await project(
      name,
      {
        'server.js': [
          "const http = require('node:http');",
          "function beforeOutage() { return 'before'; }",
          "function duringOutage() { return 'during'; }",
          'const server = http.createServer((req, res) => {',
          "  res.end(req.url === '/during' ? duringOutage() : beforeOutage());",
          '});',
          "server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready'));",
          '',
        ].join('\n'),
      },
      ['server.js'],
    );
    const port = await freePort();
    const app = `http://127.0.0.1:${port}`;
    const run = observe(dir, callgraphId, name, ['server.js'], { PORT: String(port), Ingest__FlushIntervalMs: '200' });
    const during = nodeSymbolId(name, 'server.js', 'duringOutage', 'function');
    const before = nodeSymbolId(name, 'server.js', 'beforeOutage', 'function');
    // Runtime hits per target; none while the subject has no facts yet (the recompute is then a 404).
    const hitsOf = async () => {
      const subjectKey = `${name}|1.0.0`;
      const recomputed = await api('/signals/reachability/recompute', {
        subjectKey,
        targets: [before, during],
        wait: true,
      });
      if (recomputed.status !== 200) return () => 0;
      const fact = (await (await api(`/signals/facts/${encodeURIComponent(subjectKey)}`)).json()) as Fact;
      return (id: string) => fact.states.find((s) => s.target === id)?.evidence.runtimeHits.length ?? 0;
    };
    try {
      await pollUntil('the app to serve', async () => (await fetch(`${app}/`).catch(() => undefined))?.ok === true);
      await pollUntil('the first function to reach Signals', async () => (await hitsOf())(before) > 0);
      await t.restart(async () => {
        for (let i = 0; i < 5; i++) {
          const res = await fetch(`${app}/during`);
          assert.equal(await res.text(), 'during', 'the app serves while stella is down');
        }
        // Several coverage takes and failed sends while stella is away.
        await new Promise((r) => setTimeout(r, 1500));
      });
      await pollUntil('what ran during the outage to arrive', async () => (await hitsOf())(during) > 0);
      assert.equal((await fetch(`${app}/`)).ok, true);
    } finally {
      run.child.kill('SIGTERM');
    }
    const { code, output } = await run;
    assert.equal(code, 0, output);
  });
});

async function pollUntil(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}
