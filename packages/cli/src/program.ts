// The `stella` command: global flags with STELLA_* fallbacks, then each room's verbs.
import { ExitCode, StellaError } from '@stella/core';
import { Command, CommanderError, Option } from 'commander';
import { registerAuth } from './commands/auth.ts';
import { registerConfig } from './commands/config.ts';
import { registerOrchestrator } from './commands/orchestrator.ts';
import { registerServe } from './commands/serve.ts';
import { registerTimeline } from './commands/timeline.ts';
import { CliError, type CliIo, exitCodeOf, type GlobalOptions } from './io.ts';

export function makeProgram(io: CliIo): { program: Command; run(): Promise<number> } {
  const env = io.env;
  const program = new Command('stella')
    .description('stella: offline-first evidence platform for software supply-chain security')
    .version('0.1.0')
    .addOption(
      new Option('--server <url>', 'server URL (env STELLA_SERVER)').default(
        env.STELLA_SERVER ?? 'http://127.0.0.1:8440',
      ),
    )
    .addOption(new Option('--tenant <id>', 'tenant (env STELLA_TENANT)').default(env.STELLA_TENANT ?? 'default'))
    .addOption(new Option('--token <jwt>', 'access token (env STELLA_TOKEN)').default(env.STELLA_TOKEN))
    .addOption(new Option('--client-id <id>', 'OAuth2 client id (env STELLA_CLIENT_ID)').default(env.STELLA_CLIENT_ID))
    .addOption(
      new Option('--client-secret <secret>', 'OAuth2 client secret (env STELLA_CLIENT_SECRET)').default(
        env.STELLA_CLIENT_SECRET,
      ),
    )
    .addOption(
      new Option('--config <path>', 'config file (env STELLA_CONFIG; default $STELLA_HOME/stella.yaml)').default(
        env.STELLA_CONFIG,
      ),
    )
    .addOption(new Option('--json', 'machine-readable output on stdout').default(env.STELLA_JSON === 'true'))
    .addOption(new Option('-q, --quiet', 'no progress or notes on stderr').default(false))
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });

  const globals = () => program.opts<GlobalOptions>();
  registerServe(program, io, globals);
  registerAuth(program, io, globals);
  registerTimeline(program, io, globals);
  registerOrchestrator(program, io, globals);
  registerConfig(program, io, globals);

  const applyExitOverride = (cmd: Command) => {
    cmd.exitOverride();
    cmd.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
    for (const sub of cmd.commands) applyExitOverride(sub);
  };
  applyExitOverride(program);

  return {
    program,
    async run() {
      try {
        await program.parseAsync(io.argv, { from: 'user' });
        return ExitCode.ok;
      } catch (error) {
        if (error instanceof CommanderError) {
          if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
          if (error.code === 'commander.help') return ExitCode.ok;
          return ExitCode.usage;
        }
        const code = error instanceof CliError || error instanceof StellaError ? error.code : 'ERR_CLI';
        io.stderr.write(`stella: ${code === 'ERR_CLI' ? '' : `${code}: `}${(error as Error).message}\n`);
        return exitCodeOf(error);
      }
    },
  };
}
