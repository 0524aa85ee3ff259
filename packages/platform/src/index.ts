// @stella/platform: the hallway every room opens on: config, database, CAS, queue, HTTP, auth,
// rate limits, metrics, logging and the timeline.
export * from './auth/index.ts';
export * from './blob/index.ts';
export * from './cli/index.ts';
export * from './config/index.ts';
export * from './db/index.ts';
export { lockHome } from './home/lock.ts';
export * from './http/index.ts';
export * from './metrics/index.ts';
export type { Ctx, Module } from './module.ts';
export { migrateModules } from './module.ts';
export { platformModule } from './platform-module.ts';
export * from './queue/index.ts';
export * from './ratelimit/index.ts';
export * from './signing/index.ts';
export * from './timeline/index.ts';
