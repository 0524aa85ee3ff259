export { renderConfigDocs } from './docs.ts';
export type { LoadConfigOptions, LoadedConfig } from './load.ts';
export { configKeys, loadConfig } from './load.ts';
export type { ClientConfig, PlatformConfig } from './schema.ts';
export type { Config, ConfigSection, RoomConfig } from './section.ts';
export { assertConfigSections, defineConfigSection } from './section.ts';
