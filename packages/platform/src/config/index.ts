export { renderConfigDocs } from './docs.ts';
export type { LoadConfigOptions, LoadedConfig } from './load.ts';
export { configKeys, loadConfig } from './load.ts';
export type { AocSourceConfig, ClientConfig, Config } from './schema.ts';
export { ConfigSchema } from './schema.ts';
