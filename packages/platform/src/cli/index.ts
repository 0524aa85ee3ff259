// What every room needs to add its `stella` verbs: stdio and globals, the HTTP client with token
// handling, output helpers and exit codes. The program itself is built in @stella/cli.
export type { ApiClient, RequestOptions } from './client.ts';
export { createApiClient, credentialsPath, localServerUrl, verifierClientId } from './client.ts';
export type { CliCtx, CliIo, GlobalOptions } from './io.ts';
export { CliError, counterOnStderr, exitCodeOf, log, printResult } from './io.ts';
