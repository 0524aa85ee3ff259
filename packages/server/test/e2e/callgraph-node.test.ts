// `stella callgraph node` on the example app as a user installs it (npm ci from the registry, real
// express 4.17.1, semver 7.5.1, yargs-parser 13.1.1 and formidable 3.5.2): the graph is the same bytes
// twice, its ids are the `sym:node:` ids of (package, module#name, kind), Signals accepts it, and
// reachability from app.js gives semver's range parser reachable by static calls, path-to-regexp
// reachable only through express's dynamically assigned methods (heuristic), yargs-parser reachable,
// and formidable, installed but never required, unreachable.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { nodeSymbolId } from '@stella/callgraph-js';
import { freePort, testBackend } from '@stella/testkit';
import { runCli, startTestServer, type TestServer } from '../helpers.ts';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const APP = join(ROOT, 'examples/node-app');

interface Graph {
  metadata: { component: string; version: string };
  nodes: { id: string; name: string; kind: string; namespace: string; file: string; purl?: string; codeId: string }[];
  edges: { sourceId: string; targetId: string; kind: string; reason: string }[];
  entrypoints: { nodeId: string; kind: string }[];
}

describe(`stella callgraph node on the example app (${testBackend()})`, () => {
  let t: TestServer;
  let dir: string;
  let graph: Graph;
  let callgraphId: string;
  let targets: { symbolId: string; advisoryId: string }[];
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

  before(async () => {
    t = await startTestServer({ STELLA_SIGNALS_SYMBOL_OVERLAY_PATH: join(APP, 'symbols.overlay.json') });
    const ingested = await cli(['sources', 'ingest', '--source', 'ghsa', '--input', join(APP, 'advisories')]);
    assert.equal(ingested.code, 0, ingested.stderr);
    dir = join(t.home, 'node-app');
    cpSync(APP, dir, { recursive: true });
    // What the user runs first; the registry is the one network this machine has.
    execFileSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: dir,
      stdio: 'pipe',
      timeout: 300_000,
    });
  });
  after(() => t.close());

  test('the graph: same bytes twice, sym:node ids of (package, module#name, kind), purls from the installed packages', async () => {
    const out = join(t.home, 'graph.json');
    const first = await cli(['callgraph', 'node', dir, '--entry', 'app.js', '--out', out]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /graph\.json: \d+ modules, \d+ functions, \d+ static and \d+ heuristic edges/);
    const again = await cli(['callgraph', 'node', dir, '--entry', 'app.js', '--out', `${out}.2`]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(readFileSync(`${out}.2`), readFileSync(out));
    graph = JSON.parse(readFileSync(out, 'utf8')) as Graph;
    assert.deepEqual(graph.metadata, {
      language: 'javascript',
      component: 'stella-example-node-app',
      version: '1.0.0',
      generator: 'stella callgraph node',
    });
    const parseRange = graph.nodes.find((n) => n.namespace === 'semver' && n.name === 'Range.parseRange')!;
    assert.equal(parseRange.file, 'classes/range.js');
    assert.equal(parseRange.kind, 'method');
    assert.equal(parseRange.purl, 'pkg:npm/semver@7.5.1');
    assert.equal(parseRange.id, nodeSymbolId('semver', 'classes/range.js', 'Range.parseRange', 'method'));
    assert.match(parseRange.codeId, /^sha256:[0-9a-f]{64}$/);
    assert.equal(new Set(graph.nodes.map((n) => n.id)).size, graph.nodes.length, 'ids are unique');
    assert.deepEqual(
      graph.entrypoints.map((e) => e.nodeId),
      [nodeSymbolId('stella-example-node-app', 'app.js', '<module>', 'module')],
    );
  });

  test('a project without an entry point, or not a directory, is a usage error that says what to pass', async () => {
    const none = await cli(['callgraph', 'node', dir]);
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /no entry point .*--entry <file>/);
    const missing = await cli(['callgraph', 'node', join(dir, 'nope')]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /not a directory/);
  });

  test('an unwritable --out, and stella observe without a callgraph or a subject, are usage errors that say what to pass', async () => {
    const out = await cli([
      'callgraph',
      'node',
      dir,
      '--entry',
      'app.js',
      '--out',
      join(t.home, 'no-such-dir', 'g.json'),
    ]);
    assert.equal(out.code, 2, out.stderr);
    assert.match(out.stderr, /--out .*g\.json: cannot be written/);
    const noGraph = await cli(['observe', '--component', 'x', '--version', '1', '--', process.execPath, '-e', '0']);
    assert.equal(noGraph.code, 2, noGraph.stderr);
    assert.match(noGraph.stderr, /--callgraph-id is required/);
    const noSubject = await cli(['observe', '--callgraph-id', 'cg-x', '--', process.execPath, '-e', '0']);
    assert.equal(noSubject.code, 2, noSubject.stderr);
    assert.match(noSubject.stderr, /name the subject: --scan-id ID, or --component NAME --version V/);
  });

  test('Signals takes the graph; reachability from app.js: static, heuristic, and unreachable, with witness paths', async () => {
    const posted = await api('/signals/callgraphs', graph);
    assert.equal(posted.status, 202, await posted.clone().text());
    const id = (pkg: string, file: string, name: string, kind: string) => nodeSymbolId(pkg, file, name, kind);
    // Named here by the builder's id rule; the last test takes them from the curated overlay instead.
    targets = [
      { symbolId: id('semver', 'classes/range.js', 'Range.parseRange', 'method'), advisoryId: 'GHSA-c2qf-rxjj-qqgw' },
      { symbolId: id('path-to-regexp', 'index.js', 'pathtoRegexp', 'function'), advisoryId: 'GHSA-9wv6-86v2-598j' },
      { symbolId: id('yargs-parser', 'index.js', 'parse', 'function'), advisoryId: 'GHSA-ghmj-crg5-xw2j' },
      {
        symbolId: id('formidable', 'dist/index.cjs', 'IncomingForm._setUpRename', 'method'),
        advisoryId: 'GHSA-75v8-2h7p-7m2m',
      },
    ];
    for (const target of targets)
      assert.ok(
        graph.nodes.some((n) => n.id === target.symbolId),
        target.advisoryId,
      );
    const subjectKey = 'stella-example-node-app|1.0.0';
    // The subject exists once runtime evidence arrives: app.js's top level, which runs whenever the app
    // starts (the observer will send this and more; until then it is posted as the README does).
    ({ callgraphId } = (await posted.json()) as { callgraphId: string });
    const observed = await api('/signals/runtime-facts', {
      callgraphId,
      subject: { component: 'stella-example-node-app', version: '1.0.0' },
      events: [{ symbolId: graph.entrypoints[0]!.nodeId, hitCount: 1, observedAt: '2026-12-04T00:00:00Z' }],
    });
    assert.equal(observed.status, 202, await observed.clone().text());
    const recomputed = await api('/signals/reachability/recompute', { subjectKey, targets, wait: true });
    assert.equal(recomputed.status, 200, await recomputed.clone().text());
    const fact = (await (await api(`/signals/facts/${encodeURIComponent(subjectKey)}`)).json()) as {
      states: { target: string; state: string; bucket: string; path: string[]; unknownReason?: string }[];
    };
    const byAdvisory = Object.fromEntries(
      targets.map((t) => [t.advisoryId, fact.states.find((s) => s.target === t.symbolId)!]),
    );
    const name = (nodeId: string) => {
      const n = graph.nodes.find((x) => x.id === nodeId)!;
      return `${n.namespace}:${n.file}#${n.name}`;
    };
    const semver = byAdvisory['GHSA-c2qf-rxjj-qqgw']!;
    assert.equal(semver.state, 'StaticallyReachable', JSON.stringify(semver));
    assert.ok(
      semver.path.map(name).includes('stella-example-node-app:app.js#main/<anonymous:12>'),
      String(semver.path.map(name)),
    );
    assert.ok(semver.path.map(name).includes('semver:functions/satisfies.js#satisfies'));
    const ptr = byAdvisory['GHSA-9wv6-86v2-598j']!;
    // Reached only through heuristic edges, which Signals does not count as proof either way.
    assert.equal(ptr.state, 'Unknown', JSON.stringify(ptr));
    assert.equal(ptr.unknownReason, 'dynamic_edge_only');
    assert.ok(ptr.path.map(name).includes('express:lib/router/layer.js#Layer'), String(ptr.path.map(name)));
    assert.equal(byAdvisory['GHSA-ghmj-crg5-xw2j']!.state, 'StaticallyReachable');
    assert.equal(byAdvisory['GHSA-75v8-2h7p-7m2m']!.state, 'StaticallyUnreachable');
  });

  test('stella observe: the app serves under the observer, and what really ran turns static verdicts into runtime evidence', async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'packages/cli/src/bin.ts'),
        'observe',
        '--callgraph-id',
        callgraphId,
        '--component',
        'stella-example-node-app',
        '--version',
        '1.0.0',
        '--',
        process.execPath,
        'app.js',
        '--port',
        String(port),
      ],
      {
        cwd: dir,
        env: {
          PATH: process.env.PATH,
          STELLA_HOME: t.home,
          STELLA_SERVER: t.base,
          STELLA_OBSERVER_SPOOL_DIR: join(t.home, 'observer-spool'),
          Ingest__FlushIntervalMs: '200',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // The app answers while observed.
    let answer: { compatible: boolean } | undefined;
    for (let i = 0; i < 300 && !answer; i++) {
      answer = await fetch(`http://127.0.0.1:${port}/compat/7.1.0`)
        .then((r) => r.json() as Promise<{ compatible: boolean }>)
        .catch(() => undefined);
      if (!answer) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(answer, { compatible: true }, output);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, output);

    const subjectKey = 'stella-example-node-app|1.0.0';
    const recomputed = await api('/signals/reachability/recompute', { subjectKey, targets, wait: true });
    assert.equal(recomputed.status, 200, await recomputed.clone().text());
    const fact = (await (await api(`/signals/facts/${encodeURIComponent(subjectKey)}`)).json()) as {
      states: { target: string; state: string; bucket: string; evidence: { runtimeHits: unknown[] } }[];
    };
    const state = (advisoryId: string) =>
      fact.states.find((s) => s.target === targets.find((t) => t.advisoryId === advisoryId)!.symbolId)!;
    for (const advisoryId of ['GHSA-c2qf-rxjj-qqgw', 'GHSA-9wv6-86v2-598j', 'GHSA-ghmj-crg5-xw2j']) {
      const s = state(advisoryId);
      assert.equal(s.bucket, 'runtime', `${advisoryId}: ${JSON.stringify(s)}\n${output}`);
      assert.ok(s.evidence.runtimeHits.length > 0, advisoryId);
      // The hit is on the vulnerable function itself, which only the observer saw run.
      assert.ok(JSON.stringify(s.evidence.runtimeHits).includes(s.target), JSON.stringify(s.evidence.runtimeHits));
    }
    const formidable = state('GHSA-75v8-2h7p-7m2m');
    assert.equal(formidable.state, 'StaticallyUnreachable', JSON.stringify(formidable));
    assert.deepEqual(formidable.evidence.runtimeHits, []);
    // Nothing was left behind in the spool: every batch was accepted.
    const spooled = readdirSync(join(t.home, 'observer-spool'), { recursive: true }).filter((f) =>
      String(f).endsWith('.batch'),
    );
    assert.deepEqual(
      spooled,
      [],
      `${output}\n${spooled.map((f) => readFileSync(join(t.home, 'observer-spool', String(f)), 'utf8')).join('\n')}`,
    );
  });

  test('with no targets named, the curated overlay (examples/node-app/symbols.overlay.json) names them on the built graph', async () => {
    const subjectKey = 'stella-example-node-app|1.0.0';
    const recomputed = await api('/signals/reachability/recompute', { subjectKey, targets: [], wait: true });
    assert.equal(recomputed.status, 200, await recomputed.clone().text());
    const fact = (await (await api(`/signals/facts/${encodeURIComponent(subjectKey)}`)).json()) as {
      states: { target: string; advisoryId?: string; state: string; bucket: string; unknownReason?: string }[];
    };
    const of = (advisoryId: string) => fact.states.filter((s) => s.advisoryId === advisoryId);
    const id = (pkg: string, file: string, name: string, kind: string) => nodeSymbolId(pkg, file, name, kind);
    assert.ok(
      of('GHSA-c2qf-rxjj-qqgw').some(
        (s) => s.target === id('semver', 'classes/range.js', 'Range.parseRange', 'method') && s.bucket === 'runtime',
      ),
      JSON.stringify(of('GHSA-c2qf-rxjj-qqgw')),
    );
    assert.ok(
      of('GHSA-9wv6-86v2-598j').some((s) => s.target === id('path-to-regexp', 'index.js', 'pathtoRegexp', 'function')),
    );
    const formidable = of('GHSA-75v8-2h7p-7m2m');
    assert.ok(formidable.length >= 2, JSON.stringify(formidable));
    assert.ok(
      formidable.every((s) => s.state === 'StaticallyUnreachable'),
      JSON.stringify(formidable),
    );
    // An advisory with no symbol data (yargs-parser's, not in the overlay) is a default target of its
    // package alone: unknown for lack of data, never unreachable.
    const yargs = of('GHSA-ghmj-crg5-xw2j');
    assert.equal(yargs.length, 1, JSON.stringify(yargs));
    assert.equal(yargs[0]!.bucket, 'unknown', JSON.stringify(yargs));
    assert.equal(yargs[0]!.unknownReason, 'no_symbol_data', JSON.stringify(yargs));
  });
});
