// SPDX-License-Identifier: Apache-2.0
// `stella versions compare|sort|ecosystems`: the ecosystem comparators as a tool (runbook:
// docs/runbooks/versions.md). Results go to stdout, reasons to stderr as `stella: CODE: message`;
// an unparseable version exits 2, never a guessed order.
import { Errors, lookupError, StellaError } from '@stella/core';
import { type CliCtx, type CliIo, type GlobalOptions, printResult } from '@stella/platform';
import { type Command, Option } from 'commander';
import { type Ordering, supportedEcosystems, type VersionComparator, versionComparator } from '../versions/index.ts';
import { chunkedWriter, lines, requireStdin } from './line-input.ts';

const SYMBOL: Record<Ordering, string> = { [-1]: '<', 0: '=', 1: '>' };
// More reasons than this on stderr help nobody; the summary line still counts them all.
const MAX_REPORTED_LINES = 20;

interface CompareFlags {
  ecosystem?: string;
  stdin?: boolean;
}

interface SortFlags {
  ecosystem?: string;
  reverse?: boolean;
}

function comparatorFor(flags: { ecosystem?: string }): VersionComparator {
  if (!flags.ecosystem)
    throw new StellaError(Errors.usage, '--ecosystem is required (or STELLA_ECOSYSTEM), e.g. --ecosystem npm');
  return versionComparator(flags.ecosystem);
}

/** Collects bad lines: the first ones are reported on stderr at once, the count closes the run. */
function badLines(io: CliIo) {
  let count = 0;
  let first: StellaError | undefined;
  return {
    report(line: number, error: StellaError) {
      count++;
      first ??= error;
      if (count <= MAX_REPORTED_LINES) io.stderr.write(`stella: ${error.code}: line ${line}: ${error.message}\n`);
    },
    /** Throws the summary when any line was bad, with the first bad line's code and exit code. */
    close(total: number, what: string) {
      if (!first) return;
      const more = count > MAX_REPORTED_LINES ? ` (only the first ${MAX_REPORTED_LINES} are shown above)` : '';
      throw new StellaError(lookupError(first.code) ?? Errors.usage, `${count} of ${total} lines ${what}${more}`);
    },
  };
}

function asStellaError(error: unknown): StellaError {
  if (error instanceof StellaError) return error;
  throw error;
}

function comparePair(comparator: VersionComparator, text: string): { a: string; b: string; order: Ordering } {
  const fields = text.trim().split(/\s+/);
  const [a, b] = fields;
  if (fields.length !== 2 || a === undefined || b === undefined || a === '')
    throw new StellaError(
      Errors.usage,
      `expected two whitespace-separated versions, found ${a === '' ? 0 : fields.length}`,
    );
  return { a, b, order: comparator.compare(a, b) };
}

/** One result line per input line, in order; a bad line prints `!` (or an error object) in its place. */
async function compareStream(cli: CliCtx, comparator: VersionComparator): Promise<void> {
  const { io } = cli;
  const opts = cli.globals();
  const out = chunkedWriter(io.stdout);
  const bad = badLines(io);
  let n = 0;
  for await (const text of lines(requireStdin(io))) {
    n++;
    try {
      const { a, b, order } = comparePair(comparator, text);
      await out.line(opts.json ? JSON.stringify({ line: n, a, b, result: SYMBOL[order], order }) : SYMBOL[order]);
    } catch (error) {
      const coded = asStellaError(error);
      bad.report(n, coded);
      await out.line(
        opts.json ? JSON.stringify({ line: n, error: { code: coded.code, message: coded.message } }) : '!',
      );
    }
  }
  await out.flush();
  bad.close(n, 'could not be compared');
}

async function compareCommand(cli: CliCtx, flags: CompareFlags, a?: string, b?: string): Promise<void> {
  const comparator = comparatorFor(flags);
  if (flags.stdin) {
    if (a !== undefined) throw new StellaError(Errors.usage, 'give either two versions or --stdin, not both');
    return compareStream(cli, comparator);
  }
  if (a === undefined || b === undefined)
    throw new StellaError(Errors.usage, 'give two versions to compare, or --stdin to read pairs line by line');
  const order = comparator.compare(a, b);
  const opts: GlobalOptions = cli.globals();
  printResult(
    cli.io,
    opts,
    { ecosystem: comparator.ecosystem, a, b, result: SYMBOL[order], order },
    () => SYMBOL[order],
  );
}

/** Reads every non-blank line, checks all of them, and prints the sorted list only when all parsed. */
async function sortCommand(cli: CliCtx, flags: SortFlags): Promise<void> {
  const comparator = comparatorFor(flags);
  const { io } = cli;
  const opts = cli.globals();
  const bad = badLines(io);
  const versions: string[] = [];
  let n = 0;
  for await (const text of lines(requireStdin(io))) {
    n++;
    const version = text.trim();
    if (version === '') continue;
    try {
      comparator.check(version);
      versions.push(version);
    } catch (error) {
      bad.report(n, asStellaError(error));
    }
  }
  bad.close(n, 'are not versions of this ecosystem; nothing was sorted');
  const sorted = comparator.sort(versions, { descending: flags.reverse === true });
  if (opts.json) return printResult(io, opts, { ecosystem: comparator.ecosystem, versions: sorted }, () => '');
  const out = chunkedWriter(io.stdout);
  for (const version of sorted) await out.line(version);
  await out.flush();
}

function ecosystemsCommand(cli: CliCtx): void {
  const list = supportedEcosystems();
  printResult(cli.io, cli.globals(), list, () =>
    list
      .map((e) => {
        const names = [e.name, ...e.aliases].join(', ') + (e.releaseSuffix ? ` (also ${e.name}:<release>)` : '');
        return `${names}\n  ${e.scheme}: ${e.rule}`;
      })
      .join('\n'),
  );
}

export function registerVersionsCommands(program: Command, cli: CliCtx): void {
  const ecosystemOption = () =>
    new Option(
      '--ecosystem <name>',
      'OSV ecosystem name or alias, e.g. npm, PyPI, Debian:12 (env STELLA_ECOSYSTEM)',
    ).default(cli.io.env.STELLA_ECOSYSTEM);
  const versions = program
    .command('versions')
    .description("Compare and sort versions by each ecosystem's own rules (runbook: docs/runbooks/versions.md)");
  versions
    .command('compare')
    .description('Print <, = or > for version a against b; with --stdin, one result per "a b" line')
    .argument('[a]', 'first version')
    .argument('[b]', 'second version')
    .addOption(ecosystemOption())
    .option('--stdin', 'read one whitespace-separated pair per line from standard input')
    .action((a: string | undefined, b: string | undefined, flags: CompareFlags) => compareCommand(cli, flags, a, b));
  versions
    .command('sort')
    .description('Sort the versions on standard input (one per line), oldest first')
    .addOption(ecosystemOption())
    .option('--reverse', 'newest first')
    .action((flags: SortFlags) => sortCommand(cli, flags));
  versions
    .command('ecosystems')
    .description('List the supported ecosystems, their aliases and ordering rules')
    .action(() => ecosystemsCommand(cli));
}
