// @stella/console: the operator web UI's room. The browser code lives in web/ and is built by Vite;
// this door is the server side only.
export type { ConsoleConfig } from './config.ts';
export { consoleConfig } from './config.ts';
export type { ConsoleModuleOptions, SignInProvider } from './module.ts';
export { CONSOLE_BUILD_COMMAND, consoleModule, createConsoleModule, signInProvider } from './module.ts';
export { CONSOLE_CSP } from './static.ts';
