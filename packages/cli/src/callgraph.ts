// SPDX-License-Identifier: Apache-2.0
// `stella callgraph node <project-dir> [--entry <file>…] [--out graph.json]`: the static call graph of
// an installed Node.js project as stella.callgraph.v1, ready for `POST /signals/callgraphs`. Progress
// goes to stderr; the graph to --out (or stdout), byte-identical for the same installed tree.
import { existsSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { buildCallGraph } from '@stella/callgraph-js';
import { Errors } from '@stella/core';
import { type CliCtx, CliError, log, printResult } from '@stella/platform';
import type { Command } from 'commander';

interface NodeFlags {
  entry?: string[];
  out?: string;
}

export function registerCallgraphCommands(program: Command, { io, globals }: CliCtx): void {
  const callgraph = program
    .command('callgraph')
    .description('Build static call graphs for Signals (docs/runbooks/signals.md)');
  callgraph
    .command('node')
    .description(
      "The static call graph of an installed Node.js project (npm ci first): every module its entry points load and its dependencies' main modules, functions keyed as V8 reports them, static and heuristic edges",
    )
    .argument('<project-dir>', 'the project: its package.json names the app, node_modules holds what it loads')
    .option(
      '--entry <file...>',
      'entry modules (relative to the project); default: package.json main, bin and exports, else index.js',
    )
    .option('--out <file>', 'where to write the graph (default: stdout)')
    .action(async (dir: string, flags: NodeFlags) => {
      const opts = globals();
      if (!existsSync(dir) || !statSync(dir).isDirectory()) {
        throw new CliError(Errors.fileNotFound, `${dir}: not a directory`);
      }
      const started = performance.now();
      let built: ReturnType<typeof buildCallGraph>;
      try {
        let lastProgress = performance.now();
        built = buildCallGraph(dir, {
          ...(flags.entry ? { entries: flags.entry } : {}),
          // At most one line a second, and the last: a project of 100,000 modules stays readable.
          onProgress: (scanned, queued) => {
            const now = performance.now();
            if (opts.quiet || opts.json || (queued > 0 && now - lastProgress < 1000)) return;
            lastProgress = now;
            io.stderr.write(`scanned ${scanned} modules, ${queued} queued\n`);
          },
        });
      } catch (error) {
        throw new CliError(Errors.usage, (error as Error).message, { cause: error });
      }
      const { graph, stats } = built;
      const text = `${JSON.stringify(graph, null, 2)}\n`;
      if (flags.out) {
        await writeFile(flags.out, text).catch((error: Error) => {
          throw new CliError(Errors.usage, `--out ${flags.out}: cannot be written: ${error.message}`, { cause: error });
        });
      } else io.stdout.write(text);
      const seconds = (performance.now() - started) / 1000;
      for (const problem of stats.parseErrors)
        log(io, opts, `warning: ${problem.file} does not parse: ${problem.reason}`);
      for (const problem of stats.manifestProblems) log(io, opts, `warning: ${problem.file}: ${problem.reason}`);
      if (stats.bundled.length > 0) {
        log(
          io,
          opts,
          `note: ${stats.bundled.length} bundled or minified files (their names are the bundle's; advisory symbols Signals cannot find there fall back to the package, labelled precision: package): ${stats.bundled.slice(0, 10).join(', ')}${stats.bundled.length > 10 ? ', …' : ''}`,
        );
      }
      if (stats.unresolvedModules.length > 0) {
        log(io, opts, `warning: modules not installed or not found: ${stats.unresolvedModules.join(', ')}`);
      }
      const summary = { ...stats, seconds: Math.round(seconds * 1000) / 1000, out: flags.out ?? null };
      if (flags.out) {
        printResult(
          io,
          opts,
          summary,
          () =>
            `${flags.out}: ${stats.modules} modules, ${stats.functions} functions, ${stats.edges.static} static and ${stats.edges.heuristic} heuristic edges, ${stats.unresolvedCalls} calls unresolved (${summary.seconds} s)`,
        );
      } else {
        log(
          io,
          opts,
          `${stats.modules} modules, ${stats.functions} functions, ${stats.edges.static} static and ${stats.edges.heuristic} heuristic edges, ${stats.unresolvedCalls} calls unresolved (${summary.seconds} s)`,
        );
      }
    });
}
