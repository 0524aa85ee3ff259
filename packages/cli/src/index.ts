// @stella/cli: the `stella` command, built by a factory so tests drive it in-process.
export type { ApiClient } from './client.ts';
export { createApiClient } from './client.ts';
export type { CliIo, GlobalOptions } from './io.ts';
export { CliError } from './io.ts';
export { makeProgram } from './program.ts';
