// The CLI's contract with its caller: results on stdout, logs and progress on stderr, exit codes
// from one table. Commands receive this instead of touching process globals, so tests drive them in-process.
import { type ErrorDefinition, ExitCode, lookupError, StellaError } from '@stella/core';
import type { LoadedConfig } from '../config/load.ts';
import type { ConfigSection } from '../config/section.ts';
import type { Db, MigrationReport } from '../db/index.ts';

export interface CliIo {
  argv: string[];
  env: Record<string, string | undefined>;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Standard input, for commands that read a stream (`stella versions compare --stdin`); bin.ts passes
   * process.stdin, and a command that needs it refuses with a usage error when a caller passed none. */
  stdin?: NodeJS.ReadableStream;
}

export interface GlobalOptions {
  server: string;
  tenant: string;
  token?: string;
  clientId?: string;
  clientSecret?: string;
  json: boolean;
  quiet: boolean;
  config?: string;
}

/** Handed to each room's `commands()`; globals are read when a command runs, after parsing. */
export interface CliCtx {
  io: CliIo;
  globals: () => GlobalOptions;
  /** The configuration `stella serve` would load (env > --config/stella.yaml > defaults), every room's
   * section included; read when a command needs it, so a bad file fails only the commands that use it. */
  loadConfig: () => LoadedConfig;
  /** Every room's configuration section, for the configuration reference. */
  configSections: readonly ConfigSection[];
  /** Brings a database to the schema `stella serve` would (every module's migrations), for commands
   * that open the local database themselves (the offline runtime ingest). */
  migrate: (db: Db) => Promise<MigrationReport>;
}

export interface CliErrorOptions {
  /** The server's problem document, when the error relays one. */
  problem?: Record<string, unknown> | undefined;
  cause?: unknown;
}

/** An error a command exits with. Its code and exit code are those of a registered entry, never made up. */
export class CliError extends Error {
  readonly exit: number;
  readonly code: string;
  /** The server's problem document, when the error came from one. */
  readonly problem: Record<string, unknown> | undefined;
  constructor(def: ErrorDefinition, message: string = def.title, options: CliErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.exit = def.exit;
    this.code = def.code;
    this.problem = options.problem;
  }

  /**
   * An error relayed from a server (a problem document, a report or a run naming a code): the entry
   * registered for `code`, else `fallback`, a registered generic entry for a code this CLI does not
   * know (a newer server's) or no code at all. The message should name an unknown code.
   */
  static relayed(
    code: string | undefined,
    fallback: ErrorDefinition,
    message: string,
    options: CliErrorOptions = {},
  ): CliError {
    return new CliError((code === undefined ? undefined : lookupError(code)) ?? fallback, message, options);
  }
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof CliError || error instanceof StellaError) return error.exit;
  return ExitCode.failure;
}

export function printResult(io: CliIo, opts: GlobalOptions, value: unknown, human: () => string): void {
  io.stdout.write(opts.json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

export function log(io: CliIo, opts: Pick<GlobalOptions, 'quiet'>, message: string): void {
  if (!opts.quiet) io.stderr.write(`${message}\n`);
}

/** A count on stderr for long work, redrawn in place on a terminal and silent with --quiet or --json. */
export function counterOnStderr(io: CliIo, opts: Pick<GlobalOptions, 'quiet' | 'json'>, label: string) {
  const tty = (io.stderr as NodeJS.WriteStream).isTTY === true;
  const enabled = !opts.quiet && !opts.json;
  let n = 0;
  return {
    tick() {
      n++;
      if (enabled && tty && n % 1000 === 0) io.stderr.write(`\r${n} ${label}`);
    },
    done() {
      if (enabled) io.stderr.write(`${tty ? '\r' : ''}${n} ${label}\n`);
    },
  };
}
