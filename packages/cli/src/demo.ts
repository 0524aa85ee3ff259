// SPDX-License-Identifier: Apache-2.0
// `stella demo reachability`: the whole Node.js reachability flow against the running stella, on the
// example app (examples/node-app): install it if needed, build its static call graph, post it, run the
// app under the observer with a few requests, then ask Signals for the verdicts of its advisories and
// print them with their witness paths. The targets are the curated overlay's functions
// (examples/node-app/symbols.overlay.json) and, for an advisory the overlay has no entry for, the
// package alone, so it shows as Unknown (no_symbol_data) instead of being left out.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCallGraph } from '@stella/callgraph-js';
import { Errors } from '@stella/core';
import { type CliCtx, CliError, createApiClient, log, printResult } from '@stella/platform';
import type { Command } from 'commander';
import { observerEnv } from './observe.ts';

const APP = fileURLToPath(new URL('../../../examples/node-app/', import.meta.url));
const COMPONENT = 'stella-example-node-app';
const VERSION = '1.0.0';

interface Verdict {
  advisoryId: string;
  package: string;
  function: string;
  state: string;
  bucket: string;
  runtimeHits: number;
  unknownReason?: string;
  path: string[];
}

export function registerDemoCommand(program: Command, cli: CliCtx): void {
  program
    .command('demo')
    .description('Walkthroughs against the running stella')
    .command('reachability')
    .description(
      'The example app end to end: static call graph, the app run under the observer, and the verdicts of its advisories with witness paths (needs `npm start`)',
    )
    .option('--port <port>', 'where the example app listens while observed (default: a free port)')
    .action(async (flags: { port?: string }) => runDemo(cli, flags.port ? Number(flags.port) : await freePort()));
}

async function runDemo({ io, globals }: CliCtx, port: number): Promise<void> {
  const opts = globals();
  const step = (message: string) => log(io, opts, `• ${message}`);
  const client = createApiClient(io, opts);
  if (!existsSync(join(APP, 'node_modules'))) {
    step('installing the example app (npm ci)');
    execFileSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: APP, stdio: 'ignore' });
  }
  step('building its static call graph');
  const { graph, stats } = buildCallGraph(APP, { entries: ['app.js'] });
  step(`${stats.modules} modules, ${stats.functions} functions; posting it to Signals`);
  const { callgraphId } = await client.json<{ callgraphId: string }>('POST', '/signals/callgraphs', { body: graph });

  step(`running app.js under the observer on 127.0.0.1:${port} and sending it requests`);
  const env = await observerEnv(io, opts, client, { callgraphId, component: COMPONENT, version: VERSION });
  const app = spawn(process.execPath, ['app.js', '--port', String(port)], { cwd: APP, env, stdio: 'ignore' });
  try {
    let answered = false;
    for (let i = 0; i < 200 && !answered; i++) {
      answered = await fetch(`http://127.0.0.1:${port}/compat/7.1.0`).then(
        (r) => r.ok,
        () => false,
      );
      if (!answered) await new Promise((r) => setTimeout(r, 100));
    }
    if (!answered)
      throw new CliError(Errors.childFailed, `the example app did not answer on port ${port}; is it free?`);
    for (const version of ['6.2.0', '7.5.1', '1.0.0-beta']) await fetch(`http://127.0.0.1:${port}/compat/${version}`);
  } finally {
    app.kill('SIGTERM');
    await new Promise((r) => app.once('exit', r));
  }

  step('asking Signals for the verdicts');
  const names = new Map(graph.nodes.map((n) => [n.id, { name: `${n.namespace}:${n.file}#${n.name}`, purl: n.purl }]));
  const targets = demoTargets(graph.nodes);
  const subjectKey = `${COMPONENT}|${VERSION}`;
  await client.json('POST', '/signals/reachability/recompute', { body: { subjectKey, targets, wait: true } });
  const fact = await client.json<{
    states: {
      target: string;
      advisoryId?: string;
      package?: string;
      state: string;
      bucket: string;
      path: string[];
      unknownReason?: string;
      evidence: { runtimeHits: unknown[] };
    }[];
  }>('GET', `/signals/facts/${encodeURIComponent(subjectKey)}`);
  const verdicts: Verdict[] = fact.states
    .map((s) => ({
      advisoryId: s.advisoryId ?? '',
      package: s.package ?? names.get(s.target)?.purl ?? '',
      function: names.get(s.target)?.name.split('#')[1] ?? '(no symbol data)',
      state: s.state,
      bucket: s.bucket,
      runtimeHits: s.evidence.runtimeHits.length,
      ...(s.unknownReason ? { unknownReason: s.unknownReason } : {}),
      path: [...s.path].reverse().map((id) => names.get(id)?.name ?? id),
    }))
    .sort((a, b) => a.advisoryId.localeCompare(b.advisoryId) || a.function.localeCompare(b.function));
  printResult(io, opts, { subjectKey, callgraphId, verdicts }, () => table(verdicts));
}

/** Targets from the curated overlay, by function name within its package, plus advisories it has no entry for. */
function demoTargets(nodes: readonly { id: string; name: string; namespace: string }[]) {
  const overlay = JSON.parse(readFileSync(join(APP, 'symbols.overlay.json'), 'utf8')) as Record<
    string,
    { package: string; symbols?: string[] }
  >;
  const targets: { symbolId?: string; advisoryId: string; package: string }[] = [];
  for (const [advisoryId, entry] of Object.entries(overlay)) {
    const name = entry.package.replace(/^pkg:npm\//, '').replace(/^%40/, '@');
    for (const node of nodes) {
      if (node.namespace === name && (entry.symbols ?? []).includes(node.name)) {
        targets.push({ symbolId: node.id, advisoryId, package: entry.package });
      }
    }
  }
  for (const file of readdirSync(join(APP, 'advisories')).sort()) {
    const advisory = JSON.parse(readFileSync(join(APP, 'advisories', file), 'utf8')) as {
      id: string;
      affected?: { package?: { name?: string } }[];
    };
    const pkg = advisory.affected?.[0]?.package?.name;
    if (!overlay[advisory.id] && pkg) targets.push({ advisoryId: advisory.id, package: `pkg:npm/${pkg}` });
  }
  return targets;
}

function table(verdicts: readonly Verdict[]): string {
  const lines = [
    'ADVISORY              FUNCTION                                    VERDICT                BUCKET     RUNTIME',
  ];
  for (const v of verdicts) {
    lines.push(
      `${v.advisoryId.padEnd(22)}${`${v.package.replace(/^pkg:npm\//, '')} ${v.function}`.slice(0, 43).padEnd(44)}${`${v.state}${v.unknownReason ? ` (${v.unknownReason})` : ''}`.padEnd(42)}${v.bucket.padEnd(13)}${v.runtimeHits ? 'ran' : '-'}`,
    );
    if (v.path.length > 0) lines.push(`    path: ${v.path.join(' → ')}`);
  }
  return lines.join('\n');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
