// SPDX-License-Identifier: Apache-2.0
// Where a `require`/`import` specifier leads, as Node resolves it (relative files, directories,
// node_modules lookups up the tree, package.json `exports` with conditions and `*` patterns, then
// `main`), and which package a file belongs to: the nearest package.json with both a name and a
// version (spec reachability §3.2: marker files with only `type` are common and skipped).
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';

const BUILTINS = new Set(builtinModules);

/** `fs`, `node:fs`, `fs/promises`: Node's own modules, which have no source to scan. */
export function isBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || BUILTINS.has(specifier);
}
// TypeScript last: Node runs .ts files (type stripping), and a JavaScript file of the same name wins.
const EXTENSIONS = ['.js', '.cjs', '.mjs', '.ts', '.mts', '.cts'];
/** Condition order: what `require` from Node picks first, then what `import` would. */
const CONDITIONS = ['node', 'require', 'import', 'default'];

export interface PackageInfo {
  name: string;
  version: string;
  /** The directory holding its package.json (real path). */
  root: string;
  /** Its package.json, parsed (main, exports, bin). */
  manifest: Record<string, unknown>;
}

export interface Resolver {
  /** The real path of the module file, or undefined for builtins and what cannot be found. */
  resolve(specifier: string, fromFile: string): string | undefined;
  /** The package a file belongs to, or undefined when no package.json above it has a name and a version. */
  packageOf(file: string): PackageInfo | undefined;
  /** package.json files that could not be read or parsed, with the reason. */
  readonly problems: Map<string, string>;
}

const isFile = (path: string) => {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

export function createResolver(projectRoot: string): Resolver {
  const root = realpathSync(projectRoot);
  const manifests = new Map<string, Record<string, unknown> | undefined>();
  const packages = new Map<string, PackageInfo | undefined>();
  const problems = new Map<string, string>();

  const manifestAt = (dir: string): Record<string, unknown> | undefined => {
    if (manifests.has(dir)) return manifests.get(dir);
    const path = join(dir, 'package.json');
    let manifest: Record<string, unknown> | undefined;
    if (existsSync(path)) {
      try {
        const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
          manifest = parsed as Record<string, unknown>;
        else problems.set(path, 'not a JSON object');
      } catch (error) {
        problems.set(path, (error as Error).message);
      }
    }
    manifests.set(dir, manifest);
    return manifest;
  };

  const packageOf = (file: string): PackageInfo | undefined => {
    const chain: string[] = [];
    let found: PackageInfo | undefined;
    for (let dir = dirname(file); ; dir = dirname(dir)) {
      if (packages.has(dir)) {
        found = packages.get(dir);
        break;
      }
      chain.push(dir);
      const manifest = manifestAt(dir);
      if (manifest && typeof manifest.name === 'string' && typeof manifest.version === 'string') {
        found = { name: manifest.name, version: manifest.version, root: dir, manifest };
        break;
      }
      // Stop at the project's parent: nothing above the project is part of it.
      if (dir === dirname(root) || dirname(dir) === dir) break;
    }
    for (const dir of chain) packages.set(dir, found);
    return found;
  };

  const asFile = (path: string): string | undefined => {
    if (isFile(path)) return path;
    for (const ext of EXTENSIONS) if (isFile(path + ext)) return path + ext;
    return undefined;
  };

  const asDirectory = (dir: string): string | undefined => {
    const manifest = manifestAt(dir);
    if (manifest && typeof manifest.main === 'string') {
      const main = asFile(join(dir, manifest.main)) ?? asIndex(join(dir, manifest.main));
      if (main) return main;
    }
    return asIndex(dir);
  };

  const asIndex = (dir: string): string | undefined => {
    for (const ext of EXTENSIONS) if (isFile(join(dir, `index${ext}`))) return join(dir, `index${ext}`);
    return undefined;
  };

  const real = (path: string | undefined) => (path ? realpathSync(path) : undefined);

  const resolve = (specifier: string, fromFile: string): string | undefined => {
    if (isBuiltin(specifier)) return undefined;
    if (specifier.startsWith('./') || specifier.startsWith('../') || specifier === '.' || specifier === '..') {
      const target = join(dirname(fromFile), specifier);
      return real(asFile(target) ?? asDirectory(target));
    }
    if (specifier.startsWith('/')) return real(asFile(specifier) ?? asDirectory(specifier));
    if (specifier.startsWith('file:') || specifier.startsWith('data:') || specifier.startsWith('#')) return undefined;
    const parts = specifier.split('/');
    const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
    const subpath = parts.slice(specifier.startsWith('@') ? 2 : 1).join('/');
    for (let dir = dirname(fromFile); ; dir = dirname(dir)) {
      const packageDir = join(dir, 'node_modules', ...name.split('/'));
      if (existsSync(packageDir)) {
        const manifest = manifestAt(packageDir);
        const viaExports = manifest?.exports !== undefined ? fromExports(manifest.exports, subpath) : undefined;
        if (viaExports !== undefined) return real(asFile(join(packageDir, viaExports)));
        if (subpath) {
          const target = join(packageDir, subpath);
          return real(asFile(target) ?? asDirectory(target));
        }
        return real(asDirectory(packageDir));
      }
      if (dirname(dir) === dir) return undefined;
    }
  };

  return { resolve, packageOf, problems };
}

/** The file a package's `exports` maps `./<subpath>` to, with the conditions Node's require would use. */
function fromExports(exports: unknown, subpath: string): string | undefined {
  const key = subpath ? `./${subpath}` : '.';
  if (typeof exports === 'string' || Array.isArray(exports)) return key === '.' ? target(exports) : undefined;
  if (typeof exports !== 'object' || exports === null) return undefined;
  const map = exports as Record<string, unknown>;
  const keys = Object.keys(map);
  // Conditions at the top level (`{ "require": …, "import": … }`) apply to ".".
  if (!keys.some((k) => k.startsWith('.'))) return key === '.' ? target(map) : undefined;
  if (key in map) return target(map[key]);
  for (const pattern of keys.filter((k) => k.includes('*')).sort((a, b) => b.length - a.length)) {
    const [prefix, suffix] = pattern.split('*') as [string, string];
    if (key.startsWith(prefix) && key.endsWith(suffix) && key.length >= prefix.length + suffix.length) {
      const star = key.slice(prefix.length, key.length - suffix.length);
      return target(map[pattern])?.replaceAll('*', star);
    }
  }
  return undefined;
}

function target(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = target(item);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof value === 'object' && value !== null) {
    const map = value as Record<string, unknown>;
    for (const condition of CONDITIONS)
      if (condition in map) {
        const found = target(map[condition]);
        if (found) return found;
      }
  }
  return undefined;
}

/** A path relative to a directory, with `/` whatever the platform. */
export function posixRelative(from: string, to: string): string {
  return relative(from, to).split(sep).join('/');
}
