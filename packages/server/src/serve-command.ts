// `stella serve`: runs the platform in this process until SIGINT/SIGTERM, then drains and exits 0.
import { Errors, ExitCode, StellaError } from '@stella/core';
import { type CliCtx, type CliIo, type Config, loadConfig } from '@stella/platform';
import type { Command } from 'commander';
import { startServer } from './serve.ts';

// A terminal's Ctrl-C under `npm start` arrives here twice about a millisecond apart: once from the
// terminal (npm and the server share its process group) and once forwarded by npm; so does a
// supervisor's SIGTERM to the whole group (systemd's default). Without this window the copy would
// count as a second signal and cut the drain short with exit 1. It is well under the pause before a
// person presses Ctrl-C again on purpose.
const SAME_STOP_WINDOW_MS = 500;

export function registerServeCommand(program: Command, { io, globals }: CliCtx): void {
  program
    .command('serve')
    .description('Run the platform: API, workers and crons (embedded PGlite unless STELLA_DATABASE_URL is set)')
    .option('--target <target>', 'all | api | worker (env STELLA_SERVER_TARGET)')
    .option('--host <host>', 'bind address (env STELLA_SERVER_HOST, default 127.0.0.1)')
    .option('--port <port>', 'port (env STELLA_SERVER_PORT, default 8440)')
    .action(async (flags: { target?: string; host?: string; port?: string }) => {
      const overrides: Record<string, unknown> = {};
      const server: Record<string, unknown> = {};
      if (flags.target) server.target = flags.target;
      if (flags.host) server.host = flags.host;
      if (flags.port) server.port = Number(flags.port);
      if (Object.keys(server).length) overrides.server = server;
      const { config, file } = loadConfig({ env: io.env, file: globals().config, overrides });
      await serveUntilSignal(config, file, io);
    });
}

async function serveUntilSignal(config: Config, file: string | undefined, io: CliIo): Promise<void> {
  const running = await startServer({ config });
  const note = (s: string) => io.stderr.write(`${s}\n`);
  note(`stella ${config.server.target} listening on ${running.url}`);
  note(`  database: ${config.database.url ? 'PostgreSQL' : `embedded PGlite in ${config.home}/pg`}`);
  note(`  credentials: ${running.credentialsPath}`);
  if (file) note(`  config: ${file}`);
  note('  API docs: /docs   metrics: /metrics   stop: Ctrl-C');

  const shutdownError = await new Promise<Error | undefined>((resolve) => {
    let firstSignalAt: number | undefined;
    const stop = (signal: NodeJS.Signals) => {
      const now = performance.now();
      if (firstSignalAt === undefined) {
        firstSignalAt = now;
        note(`${signal}: draining in-flight requests and jobs (${signal} again to exit without waiting)...`);
        running.close().then(
          () => resolve(undefined),
          (error: unknown) => resolve(error instanceof Error ? error : new Error(String(error))),
        );
      } else if (now - firstSignalAt >= SAME_STOP_WINDOW_MS) {
        note(`${signal} again: exiting without waiting`);
        process.exit(ExitCode.failure);
      }
    };
    // Listeners stay for the life of the process: without one, a late copy of the signal would kill
    // the process by the default action (exit status 130 or 143) in the middle of a clean stop.
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  if (shutdownError)
    throw new StellaError(Errors.internal, `shutdown failed: ${shutdownError.message}`, { cause: shutdownError });
  note('stopped');
}
