// `stella serve`: runs the platform in this process until SIGINT/SIGTERM, then drains and exits 0.
import { type CliCtx, type CliIo, type Config, loadConfig } from '@stella/platform';
import type { Command } from 'commander';
import { startServer } from './serve.ts';

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

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        note(`${signal} again: exiting without waiting`);
        process.exit(1);
      }
      stopping = true;
      note(`${signal}: draining in-flight requests and jobs...`);
      running.close().then(resolve, (error) => {
        note(`shutdown error: ${(error as Error).message}`);
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  note('stopped');
}
