// A room's configuration section: the room declares and owns its keys (schema, defaults,
// descriptions, env aliases); platform keeps the one loader, the precedence and the docs.
//
// Typing: each room adds its section to `RoomConfig` by module augmentation
// (`declare module '@stella/platform' { interface RoomConfig { aoc: AocConfig } }`), so
// `ctx.config.aoc` is typed wherever the room is loaded. At run time the section is there only when
// the loader was given it; the server checks every mounted module's section before it starts
// (`assertConfigSections`), so a forgotten section fails at start-up, not deep inside a request.
import { Errors, StellaError } from '@stella/core';
import type { TObject } from 'typebox';
import type { PlatformConfig } from './schema.ts';

export interface ConfigSection<S extends TObject = TObject> {
  /** Top-level key in stella.yaml (`aoc:`) and the STELLA_<KEY>_… env prefix. */
  readonly key: string;
  /** The section's schema: an object with `default: {}` so an absent section takes its defaults. */
  readonly schema: S;
  /** Env names the seeds use, mapped to a key inside the section (`AOC_GUARD_ENABLED` → `guardEnabled`). */
  readonly envAliases?: Readonly<Record<string, string>>;
  /**
   * Blocks of stella.yaml as the seeds write them, mapped onto a key inside the section
   * (`ExportCenter.Retention` → `retention`). The block's own keys are the seeds' .NET PascalCase
   * (`Mirror: {Mode: days}`) and are read as camelCase (`mirror: {mode: days}`).
   */
  readonly fileAliases?: Readonly<Record<string, string>>;
}

/** Rooms augment this interface with their sections; see the comment at the top of this file. */
// biome-ignore lint/suspicious/noEmptyInterface: filled by module augmentation in each room.
export interface RoomConfig {}

export type Config = PlatformConfig & RoomConfig;

export function defineConfigSection<S extends TObject>(
  key: string,
  schema: S,
  envAliases?: Readonly<Record<string, string>>,
  fileAliases?: Readonly<Record<string, string>>,
): ConfigSection<S> {
  if (!/^[a-z][a-zA-Z0-9]*$/.test(key)) throw new Error(`config section key ${JSON.stringify(key)} is not camelCase`);
  return Object.freeze({
    key,
    schema,
    ...(envAliases && { envAliases: Object.freeze({ ...envAliases }) }),
    ...(fileAliases && { fileAliases: Object.freeze({ ...fileAliases }) }),
  });
}

/** Refuses to start modules whose section the configuration was loaded without. */
export function assertConfigSections(config: Config, sections: readonly ConfigSection[]): void {
  const missing = sections.filter((s) => typeof Reflect.get(config, s.key) !== 'object');
  if (missing.length > 0) {
    throw new StellaError(
      Errors.config,
      `configuration was loaded without the section(s) ${missing.map((s) => s.key).join(', ')}: pass the modules' config sections to loadConfig`,
    );
  }
}
