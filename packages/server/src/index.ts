// @stella/server: composes the rooms into `stella serve --target all|api|worker`.
export { generateDocs, renderErrorsDoc } from './docs.ts';
export { configSections, loadServerConfig, modules, signalsAdvisories } from './modules.ts';
export type { RunningServer, ServeOptions } from './serve.ts';
export { startServer } from './serve.ts';
export { registerServeCommand } from './serve-command.ts';
