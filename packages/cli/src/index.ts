// @stella/cli: the `stella` command, built by a factory so tests drive it in-process.
export { makeProgram } from './program.ts';
export { runSignalsOffline } from './signals-offline.ts';
