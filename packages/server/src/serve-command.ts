// `stella serve`: runs the platform in this process until SIGINT/SIGTERM, then drains and exits 0.
//
// A stop is bounded: work still running after server.shutdownGraceMs is cancelled and logged, and a
// stop unfinished SHUTDOWN_MARGIN_MS later exits with status 1, naming what it waited for. A
// watchdog thread covers an event loop that stays blocked (an embedded PGlite statement that never
// returns), where no timer of this thread can fire: it names the last known work and kills the process.
//
// Unexpected errors: an unhandled rejection is logged with the request or job it came from and the
// server carries on (a promise nobody awaited does not corrupt state by itself). An uncaught exception
// is logged the same way and then stops the server as a SIGTERM would, exiting with status 1: after
// one, this process's state is unknown, and a supervisor restarting a clean process is the safe answer.
import { Worker } from 'node:worker_threads';
import { Errors, ExitCode, StellaError } from '@stella/core';
import {
  type CliCtx,
  type CliIo,
  type Config,
  currentWork,
  describeWork,
  loadConfig,
  type Module,
} from '@stella/platform';
import type { Command } from 'commander';
import { type RunningServer, SHUTDOWN_MARGIN_MS, startServer } from './serve.ts';

// A terminal's Ctrl-C under `npm start` arrives here twice about a millisecond apart: once from the
// terminal (npm and the server share its process group) and once forwarded by npm; so does a
// supervisor's SIGTERM to the whole group (systemd's default). Without this window the copy would
// count as a second signal and cut the drain short with exit 1. It is well under the pause before a
// person presses Ctrl-C again on purpose.
const SAME_STOP_WINDOW_MS = 500;
// The watchdog fires this long after close() should have given up by itself: only a blocked event
// loop gets that far.
const WATCHDOG_EXTRA_MS = 2000;
// How often the watchdog learns what is still running; what it reports is at most this old.
const WATCHDOG_REFRESH_MS = 500;

export function registerServeCommand(program: Command, { io, globals, configSections }: CliCtx): void {
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
      const configFile = globals().config;
      const { config, file } = loadConfig({
        env: io.env,
        overrides,
        sections: configSections,
        ...(configFile ? { file: configFile } : {}),
      });
      await serveUntilSignal(config, file, io);
    });
}

/** Runs the server until a stop signal or an uncaught exception; exported for tests that add modules. */
export async function serveUntilSignal(
  config: Config,
  file: string | undefined,
  io: CliIo,
  options: { modules?: readonly Module[] } = {},
): Promise<void> {
  const running = await startServer({ config, ...(options.modules && { modules: options.modules }) });
  const note = (s: string) => io.stderr.write(`${s}\n`);
  note(`stella ${config.server.target} listening on ${running.url}`);
  note(`  database: ${config.database.url ? 'PostgreSQL' : `embedded PGlite in ${config.home}/pg`}`);
  note(`  credentials: ${running.credentialsPath}`);
  if (file) note(`  config: ${file}`);
  note(
    `  API docs: /docs   metrics: ${running.metricsUrl ?? '/metrics (bearer token with scope metrics:read)'}   stop: Ctrl-C`,
  );

  let crash: Error | undefined;
  const shutdownError = await new Promise<Error | undefined>((resolve) => {
    let firstStopAt: number | undefined;
    const beginStop = (announcement: string) => {
      firstStopAt = performance.now();
      note(announcement);
      const watchdog = startWatchdog(config.server.shutdownGraceMs + SHUTDOWN_MARGIN_MS + WATCHDOG_EXTRA_MS, running);
      running.close().then(
        () => {
          watchdog.stop();
          resolve(undefined);
        },
        (error: unknown) => {
          watchdog.stop();
          resolve(error instanceof Error ? error : new Error(String(error)));
        },
      );
    };
    const stop = (signal: NodeJS.Signals) => {
      if (firstStopAt === undefined) {
        beginStop(`${signal}: draining in-flight requests and jobs (${signal} again to exit without waiting)...`);
      } else if (performance.now() - firstStopAt >= SAME_STOP_WINDOW_MS) {
        note(`${signal} again: exiting without waiting`);
        process.exit(ExitCode.failure);
      }
    };
    // Listeners stay for the life of the process: without one, a late copy of the signal would kill
    // the process by the default action (exit status 130 or 143) in the middle of a clean stop.
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);

    process.on('unhandledRejection', (reason) => {
      const work = currentWork();
      running.ctx.logger.error(
        { err: reason, requestId: work?.id, work: work?.what },
        `unhandled promise rejection${work ? ` in ${work.what}` : ''}; the server carries on`,
      );
    });
    process.on('uncaughtException', (error, origin) => {
      const work = currentWork();
      running.ctx.logger.fatal(
        { err: error, origin, requestId: work?.id, work: work?.what },
        `uncaught exception${work ? ` in ${work.what}` : ''}: stopping with exit status 1`,
      );
      if (firstStopAt !== undefined) return; // already stopping; the stop decides the exit
      crash = error;
      beginStop(
        `uncaught exception${work ? ` in ${describeWork(work)}` : ''}: ${error.message}; draining and exiting with status 1...`,
      );
    });
  });
  if (shutdownError) {
    note(`stop failed: ${shutdownError.message}; exiting with status 1`);
    // Whatever held the stop up may also hold the event loop open.
    process.exit(ExitCode.failure);
  }
  if (crash)
    throw new StellaError(Errors.internal, `stopped after an uncaught exception: ${crash.message}`, { cause: crash });
  note('stopped');
}

// Runs on its own thread, so it still fires when the main event loop is blocked.
const WATCHDOG_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
let running = [];
parentPort.on('message', (latest) => { running = latest; });
setTimeout(() => {
  writeSync(2, 'stella: the stop is stuck with the event loop blocked; killing the process. Still running: ' +
    (running.join('; ') || 'nothing tracked') + '\\n');
  process.kill(workerData.pid, 'SIGKILL');
}, workerData.afterMs);
`;

function startWatchdog(afterMs: number, running: RunningServer): { stop(): void } {
  const worker = new Worker(WATCHDOG_SOURCE, { eval: true, workerData: { afterMs, pid: process.pid } });
  // The watchdog never keeps a finished process alive.
  worker.unref();
  const report = () => worker.postMessage(running.inFlight());
  report();
  const refresh = setInterval(report, WATCHDOG_REFRESH_MS);
  refresh.unref();
  return {
    stop() {
      clearInterval(refresh);
      void worker.terminate();
    },
  };
}
