// @stella/platform: the hallway every room opens on: config, database, CAS, queue, HTTP, auth,
// rate limits, metrics, logging and the timeline.
export * from './blob/index.ts';
export * from './config/index.ts';
export * from './db/index.ts';
export * from './ratelimit/index.ts';
