// A room's context for in-process tests: the rooms migrated on a test database, their config loaded
// under a scratch STELLA_HOME, a fixed clock, a real timeline, a private metrics registry and a
// silent logger. What a test does not ask for (blobs, queue, outbox, readiness, the public URL)
// throws when touched, so a test that needs it says so instead of failing on an undefined.
import { fixedClock } from '@stella/core';
import {
  type Ctx,
  configSectionsOf,
  createLogger,
  createMetricsRegistry,
  createTimeline,
  type Db,
  loadConfig,
  type Module,
  migrateModules,
  platformModule,
} from '@stella/platform';
import { scratchDir } from './scratch.ts';

/** Applies the platform's migrations, then the given rooms', in dependency order. */
export async function migrateRooms(db: Db, rooms: readonly Module[]): Promise<void> {
  await migrateModules(db, [platformModule, ...rooms]);
}

export interface RoomCtxOptions {
  /** The rooms whose config sections are loaded. */
  rooms: readonly Module[];
  /** ISO time of the fixed clock. */
  now: string;
  /** Extra environment for loadConfig (STELLA_HOME is a new scratch directory unless given here). */
  env?: Record<string, string>;
  /** Parts of the context the test provides itself. */
  with?: Partial<Ctx>;
}

/** A Ctx over `db` (which may wrap the migrated database) for services called in-process. */
export function roomCtx(db: Db, options: RoomCtxOptions): Ctx {
  const { config } = loadConfig({
    sections: configSectionsOf(options.rooms),
    env: { STELLA_HOME: scratchDir('stella-room-'), ...options.env },
  });
  const clock = fixedClock(options.now);
  const ctx: Partial<Ctx> = {
    config,
    db,
    clock,
    timeline: createTimeline(db, clock),
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    logger: createLogger({ level: 'silent' }),
    ...options.with,
  };
  return new Proxy(ctx as Ctx, {
    get(target, key, receiver) {
      // 'then' is asked by every await of a value; the answer "none" is the right one.
      if (typeof key === 'string' && key !== 'then' && !(key in target)) {
        throw new Error(`roomCtx has no ${key}: pass it in options.with`);
      }
      return Reflect.get(target, key, receiver);
    },
  });
}
