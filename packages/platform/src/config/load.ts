// One config loader: environment (STELLA_*) > stella.yaml > defaults, validated once at start-up.
// An invalid value stops start-up with a message naming the key and where it came from.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Errors, StellaError } from '@stella/core';
import Type, { type TObject } from 'typebox';
import Value from 'typebox/value';
import { parse as parseYaml } from 'yaml';
import { type PlatformConfig, PlatformConfigSchema } from './schema.ts';
import type { Config, ConfigSection } from './section.ts';

type Json = Record<string, unknown>;

/** Env aliases named by the seeds and the issue; they win over the generated STELLA_<SECTION>_<KEY>.
 * A room's aliases come with its section (ConfigSection.envAliases). */
const PLATFORM_ENV_ALIASES: Record<string, string> = {
  STELLA_HOME: 'home',
  STELLA_DATABASE_URL: 'database.url',
  STELLA_CAS_URL: 'cas.url',
  STELLA_REDIS_URL: 'redis.url',
  STELLA_KEK: 'auth.kek',
  AOC_TENANT_HEADER: 'auth.tenantHeader',
  AOC_VERIFIER_USER: 'auth.verifierClient',
};

/** The platform's sections followed by the rooms' (in the order given), as one schema, with the
 * env aliases of all of them. Built once per loader call; every helper below works on it. */
interface Composed {
  schema: TObject;
  aliases: Record<string, string>;
  /** Seed-spelled stella.yaml blocks → full key paths (ConfigSection.fileAliases). */
  fileAliases: Record<string, string>;
}

function compose(sections: readonly ConfigSection[]): Composed {
  const { rateLimiting, ...platform } = PlatformConfigSchema.properties;
  const aliases = { ...PLATFORM_ENV_ALIASES };
  const fileAliases: Record<string, string> = {};
  const rooms: Record<string, TObject> = {};
  for (const section of sections) {
    if (section.key in platform || section.key in rooms || section.key === 'rateLimiting') {
      throw new Error(`config section ${section.key} is declared twice`);
    }
    rooms[section.key] = section.schema;
    for (const [name, key] of Object.entries(section.envAliases ?? {})) aliases[name] = `${section.key}.${key}`;
    for (const [path, key] of Object.entries(section.fileAliases ?? {})) fileAliases[path] = `${section.key}.${key}`;
  }
  // The free-form limiter block stays last, where the reference has always listed it.
  const schema = Type.Object({ ...platform, ...rooms, rateLimiting }, { additionalProperties: false });
  return { schema, aliases, fileAliases };
}

export interface LoadConfigOptions {
  /** The rooms' sections (each Module's `config`); the platform's sections are always loaded. */
  sections?: readonly ConfigSection[];
  env?: Record<string, string | undefined>;
  /** Explicit path (--config). Without it, $STELLA_HOME/stella.yaml is read when present. */
  file?: string;
  /** Values that win over everything (CLI flags such as --port). */
  overrides?: Json;
}

export interface LoadedConfig {
  config: Config;
  /** Where each set key came from, for `stella config show`. */
  sources: Record<string, 'env' | 'file' | 'flag'>;
  file: string | undefined;
}

export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const composed = compose(options.sections ?? []);
  const sources: LoadedConfig['sources'] = {};
  const merged: Json = {};

  const home = env.STELLA_HOME ?? (options.overrides?.home as string | undefined) ?? './.stella';
  const explicit = options.file;
  const filePath = explicit ?? resolve(home, 'stella.yaml');
  let fileUsed: string | undefined;
  const fileValues = readYamlFile(filePath, explicit !== undefined);
  if (fileValues) {
    fileUsed = filePath;
    const normalized = normalizeFileKeys(fileValues, composed, filePath);
    deepAssign(merged, normalized);
    for (const key of leafPaths(normalized)) sources[key] = 'file';
  }

  for (const [path, raw] of envEntries(composed, env)) {
    setPath(merged, path, coerce(composed, path, raw));
    sources[path] = 'env';
  }
  if (options.overrides) {
    deepAssign(merged, options.overrides);
    for (const key of leafPaths(options.overrides)) sources[key] = 'flag';
  }

  const withDefaults = Value.Default(composed.schema, structuredClone(merged)) as Json;
  const errors = [...Value.Errors(composed.schema, withDefaults)];
  if (errors.length > 0) {
    const first = errors.find((e) => e.keyword !== 'boolean') ?? errors[0]!;
    const key = keyFromError(first);
    const origin =
      sources[key] === 'env' ? ` (from environment ${envNameFor(composed, key)})` : fileUsed ? ` (in ${fileUsed})` : '';
    throw new StellaError(Errors.config, `invalid configuration: ${key || '<root>'} ${first.message}${origin}`);
  }
  // Validated against the platform's sections and the given rooms'. RoomConfig names every room's
  // section; only those passed in are here, and startServer checks the mounted rooms' are.
  const config = withDefaults as PlatformConfig as Config;
  config.home = resolve(config.home);
  return { config, sources, file: fileUsed };
}

function keyFromError(error: { instancePath: string; params: unknown; keyword: string }): string {
  const base = error.instancePath.replace(/^\//, '').replaceAll('/', '.');
  const extra = (error.params as { additionalProperties?: string[] }).additionalProperties;
  if (error.keyword === 'additionalProperties' && extra?.length) return base ? `${base}.${extra[0]}` : extra[0]!;
  return base;
}

function readYamlFile(path: string, required: boolean): Json | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StellaError(Errors.config, `cannot read config file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new StellaError(Errors.config, `config file ${path} is not valid YAML: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new StellaError(Errors.config, `config file ${path} must hold a mapping at the top level`);
  }
  return parsed as Json;
}

/**
 * Spellings of the seeds that stella.yaml accepts as written: the spec's `rate_limiting:` block, and
 * each section's fileAliases (`ExportCenter: {Retention: {Mirror: {Mode: days}}}` →
 * `export.retention.mirror.mode`). A block set both ways is refused rather than merged silently.
 */
function normalizeFileKeys(values: Json, composed: Composed, file: string): Json {
  const out: Json = structuredClone(values);
  if ('rate_limiting' in out) {
    out.rateLimiting = out.rate_limiting;
    delete out.rate_limiting;
  }
  for (const [from, to] of Object.entries(composed.fileAliases)) {
    const value = takePath(out, from);
    if (value === undefined) continue;
    if (getPath(out, to) !== undefined) {
      throw new StellaError(
        Errors.config,
        `invalid configuration: both ${from} and ${to} are set in ${file}; keep one`,
      );
    }
    setPath(out, to, camelKeys(value));
  }
  return out;
}

/** The seeds' .NET configuration keys (PascalCase) as stella's (camelCase), at every depth. */
function camelKeys(value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(
    Object.entries(value as Json).map(([k, v]) => [k.charAt(0).toLowerCase() + k.slice(1), camelKeys(v)]),
  );
}

function getPath(values: Json, path: string): unknown {
  let node: unknown = values;
  for (const part of path.split('.')) {
    if (!node || typeof node !== 'object' || Array.isArray(node)) return undefined;
    node = (node as Json)[part];
  }
  return node;
}

/** Removes the value at `path` and returns it; parents left empty are removed too. */
function takePath(values: Json, path: string): unknown {
  const [head, ...rest] = path.split('.');
  const child = values[head!];
  if (rest.length === 0) {
    delete values[head!];
    return child;
  }
  if (!child || typeof child !== 'object' || Array.isArray(child)) return undefined;
  const value = takePath(child as Json, rest.join('.'));
  if (value !== undefined && Object.keys(child).length === 0) delete values[head!];
  return value;
}

function envNameFor({ aliases }: Composed, path: string): string {
  const alias = Object.entries(aliases).find(([, p]) => p === path);
  if (alias) return alias[0];
  return `STELLA_${path
    .split('.')
    .map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())
    .join('_')}`;
}

/** Every leaf scalar of the schema, with its env name. Arrays and free-form blocks are file-only. */
export function configKeys(sections: readonly ConfigSection[] = []): ConfigKey[] {
  return keysOf(compose(sections));
}

interface ConfigKey {
  path: string;
  env: string;
  schema: Json;
}

function keysOf(composed: Composed): ConfigKey[] {
  const out: { path: string; env: string; schema: Json }[] = [];
  const walk = (schema: Json, prefix: string) => {
    const props = schema.properties as Record<string, Json> | undefined;
    if (schema.type === 'object' && props) {
      for (const [k, v] of Object.entries(props)) walk(v, prefix ? `${prefix}.${k}` : k);
      return;
    }
    out.push({ path: prefix, env: envNameFor(composed, prefix), schema });
  };
  walk(composed.schema as unknown as Json, '');
  return out;
}

function envEntries(composed: Composed, env: Record<string, string | undefined>): [string, string][] {
  const out: [string, string][] = [];
  const seen = new Set<string>();
  for (const [name, path] of Object.entries(composed.aliases)) {
    const v = env[name];
    if (v !== undefined && v !== '') {
      out.push([path, v]);
      seen.add(path);
    }
  }
  for (const key of keysOf(composed)) {
    if (seen.has(key.path) || !isScalarSchema(key.schema)) continue;
    const v = env[key.env];
    if (v !== undefined && v !== '') out.push([key.path, v]);
  }
  return out;
}

function isScalarSchema(schema: Json): boolean {
  if (schema.type === 'array' || schema.type === 'object') return false;
  return schema.type !== undefined || Array.isArray(schema.anyOf);
}

function coerce(composed: Composed, path: string, raw: string): unknown {
  const key = keysOf(composed).find((k) => k.path === path);
  const type = key?.schema.type;
  if (type === 'integer' || type === 'number') {
    const n = Number(raw);
    return Number.isFinite(n) && raw.trim() !== '' ? n : raw;
  }
  if (type === 'boolean') {
    if (/^(true|1|yes|on)$/i.test(raw)) return true;
    if (/^(false|0|no|off)$/i.test(raw)) return false;
    return raw;
  }
  return raw;
}

function setPath(target: Json, path: string, value: unknown): void {
  const parts = path.split('.');
  let cursor = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof cursor[part] !== 'object' || cursor[part] === null) cursor[part] = {};
    cursor = cursor[part] as Json;
  }
  cursor[parts.at(-1)!] = value;
}

function deepAssign(target: Json, source: Json): void {
  for (const [k, v] of Object.entries(source)) {
    if (k === '__proto__' || k === 'constructor' || k === 'prototype') continue;
    if (v && typeof v === 'object' && !Array.isArray(v) && k !== 'rateLimiting') {
      if (typeof target[k] !== 'object' || target[k] === null || Array.isArray(target[k])) target[k] = {};
      deepAssign(target[k] as Json, v as Json);
    } else {
      target[k] = v;
    }
  }
}

function leafPaths(values: Json, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(values)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v) && k !== 'rateLimiting') out.push(...leafPaths(v as Json, p));
    else out.push(p);
  }
  return out;
}
