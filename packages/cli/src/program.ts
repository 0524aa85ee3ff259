// The `stella` command: global flags with STELLA_* fallbacks, `serve`, then each room's verbs.

import { ExitCode, STELLA_VERSION, StellaError } from '@stella/core';
import { CliError, type CliIo, exitCodeOf, type GlobalOptions, localServerUrl } from '@stella/platform';
import { modules, registerServeCommand } from '@stella/server';
import { Command, CommanderError, Option } from 'commander';
import { registerCallgraphCommands } from './callgraph.ts';
import { createCliCtx, loadEffectiveConfig } from './context.ts';
import { registerDemoCommand } from './demo.ts';
import { registerObserveCommand } from './observe.ts';

export function makeProgram(io: CliIo): { program: Command; run(): Promise<number> } {
  const env = io.env;
  const program = new Command('stella')
    .description('stella: offline-first evidence platform for software supply-chain security')
    .addOption(
      new Option(
        '--server <url>',
        'server URL (env STELLA_SERVER; default: server.publicUrl, else http://<server.host>:<server.port> of the configuration `stella serve` uses, e.g. STELLA_SERVER_PORT)',
      ),
    )
    .addOption(new Option('--tenant <id>', 'tenant (env STELLA_TENANT)').default(env.STELLA_TENANT ?? 'default'))
    // Secrets get their env fallback in globals(), not as a commander default, so --help never prints them.
    .addOption(new Option('--token <jwt>', 'access token (env STELLA_TOKEN)'))
    .addOption(new Option('--client-id <id>', 'OAuth2 client id (env STELLA_CLIENT_ID)').default(env.STELLA_CLIENT_ID))
    .addOption(new Option('--client-secret <secret>', 'OAuth2 client secret (env STELLA_CLIENT_SECRET)'))
    .addOption(
      new Option('--config <path>', 'config file (env STELLA_CONFIG; default $STELLA_HOME/stella.yaml)').default(
        env.STELLA_CONFIG,
      ),
    )
    .addOption(
      new Option('--json', 'machine-readable output on stdout (env STELLA_JSON)').default(env.STELLA_JSON === 'true'),
    )
    .addOption(new Option('-q, --quiet', 'no progress or notes on stderr').default(false))
    .showHelpAfterError();

  const globals = (): GlobalOptions => {
    const opts = program.opts<GlobalOptions>();
    return {
      ...opts,
      server: opts.server ?? env.STELLA_SERVER ?? localServerUrl(() => loadEffectiveConfig(env, opts.config)),
      token: opts.token ?? env.STELLA_TOKEN,
      clientSecret: opts.clientSecret ?? env.STELLA_CLIENT_SECRET,
    };
  };
  const cli = createCliCtx(io, globals);
  registerServeCommand(program, cli);
  for (const room of modules) room.commands?.(program, cli);
  registerCallgraphCommands(program, cli);
  registerObserveCommand(program, cli);
  registerDemoCommand(program, cli);
  // `--version` is also a subject flag of room verbs (`stella sbom ingest --component x --version 1`,
  // `stella signals ingest-runtime`); commander takes the program's options anywhere on the line, so
  // the program's own `-V, --version` is only defined when no command is named (`stella --version`,
  // `stella --server URL --version`).
  const commandNames = new Set(program.commands.flatMap((c) => [c.name(), ...c.aliases()]));
  if (!io.argv.some((arg) => commandNames.has(arg))) program.version(STELLA_VERSION);

  const routeOutput = (cmd: Command) => {
    cmd.exitOverride();
    cmd.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
    for (const sub of cmd.commands) routeOutput(sub);
  };
  routeOutput(program);

  return {
    program,
    async run() {
      try {
        await program.parseAsync(io.argv, { from: 'user' });
        return ExitCode.ok;
      } catch (error) {
        if (error instanceof CommanderError) {
          const informational = ['commander.helpDisplayed', 'commander.version', 'commander.help'];
          return informational.includes(error.code) ? ExitCode.ok : ExitCode.usage;
        }
        const code = error instanceof CliError || error instanceof StellaError ? error.code : 'ERR_CLI';
        io.stderr.write(`stella: ${code === 'ERR_CLI' ? '' : `${code}: `}${(error as Error).message}\n`);
        return exitCodeOf(error);
      }
    },
  };
}
