// SPDX-License-Identifier: Apache-2.0
// Builds a stella.callgraph.v1 graph for a Node.js project: from the entry modules, every module they
// load (as Node resolves it) is scanned once; each function becomes a node whose id is the `sym:node:`
// id of (package, `<module path>#<qualified name>`, kind), the same tuple the observer derives from
// what V8 reports, so a runtime hit lands on the static node. Edges, and how sure each is:
//   static     a call to a function bound in scope, to an export of a required module (followed
//              through re-exports), `new` of a class or constructor function, an inline callback
//              or IIFE, `require`/`import` (literal, static or dynamic) from the loading function to
//              the loaded module's top level;
//   heuristic  a method called on a receiver the builder cannot type (`this.m()`, `x.m()`): an edge
//              to each function named `…m` in the caller's module, else in the modules it loads
//              directly. Computed calls (`x[k]()`) and calls through values the builder cannot follow
//              are counted as unresolved, never silently treated as absent.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { nodeSymbolId, npmPurl } from './ids.ts';
import { createResolver, isBuiltin, type PackageInfo, posixRelative } from './resolve.ts';
import type { Binding, CallSite, ExportTarget, ModuleScan } from './scan.ts';
import { isSourceFile, scanFile } from './typescript.ts';

const MAX_EXPORT_DEPTH = 32;
/** Globals whose methods are the runtime's, not a package's (unless a module rebinds the name). */
const GLOBALS = new Set([
  'process',
  'console',
  'JSON',
  'Math',
  'Object',
  'Array',
  'String',
  'Number',
  'Boolean',
  'Promise',
  'Buffer',
  'Reflect',
  'Date',
  'RegExp',
  'Symbol',
  'Error',
  'Map',
  'Set',
  'WeakMap',
  'WeakSet',
  'globalThis',
  'Intl',
  'URL',
  'URLSearchParams',
  'BigInt',
  'Atomics',
  'SharedArrayBuffer',
  'ArrayBuffer',
  'DataView',
  'TextEncoder',
  'TextDecoder',
  'setTimeout',
  'setInterval',
  'setImmediate',
  'queueMicrotask',
  'structuredClone',
  'crypto',
  'performance',
  'module',
  'exports',
  'require',
  'Function',
]);
/** How far a dynamic-member guess looks through what a module loads. */
const MAX_TRANSITIVE_MODULES = 2000;

export interface BuildOptions {
  /** Entry files (relative to the project or absolute); default: the project's package.json main/bin/exports, else index.js. */
  entries?: readonly string[];
  /** Called every so often with the modules scanned so far and the queue length. */
  onProgress?: (scanned: number, queued: number) => void;
}

export interface GraphNodeOut {
  id: string;
  name: string;
  kind: string;
  namespace: string;
  file: string;
  line: number;
  purl?: string;
  codeId: string;
}

export interface GraphEdgeOut {
  sourceId: string;
  targetId: string;
  kind: 'static' | 'heuristic';
  reason: string;
}

export interface CallGraph {
  schema: 'stella.callgraph.v1';
  metadata: { language: 'javascript'; component: string; version: string; generator: string };
  nodes: GraphNodeOut[];
  edges: GraphEdgeOut[];
  entrypoints: { nodeId: string; kind: string; order: number }[];
}

export interface BuildStats {
  modules: number;
  functions: number;
  edges: { static: number; heuristic: number };
  unresolvedCalls: number;
  unresolvedModules: string[];
  parseErrors: { file: string; reason: string }[];
  oversized: string[];
  /** Bundled or minified files (project paths): named as the bundle names them, top level `<bundle>`. */
  bundled: string[];
  manifestProblems: { file: string; reason: string }[];
}

interface ModuleRecord {
  file: string;
  scan: ModuleScan;
  pkg: PackageInfo | undefined;
  /** Path inside its package (or the project, for files outside any package). */
  modulePath: string;
  /** Node ids, by function index. */
  ids: string[];
  /** `sha256:` of each function's source, by function index (computed while the source is at hand). */
  codeIds: string[];
  /** Function indexes by the last segment of their name (`m` of `C.m`), for method-by-name guesses. */
  byLastSegment?: Map<string, number[]>;
  /** Function indexes by qualified name. */
  byQualifiedName?: Map<string, number>;
  /** Resolved module requests: specifier → file. */
  loads: Map<string, string>;
}

export function buildCallGraph(
  projectDir: string,
  options: BuildOptions = {},
): { graph: CallGraph; stats: BuildStats } {
  const projectRoot = resolvePath(projectDir);
  const resolver = createResolver(projectRoot);
  const rootFile = join(projectRoot, 'package.json');
  const app = resolver.packageOf(rootFile);
  const entries = entryFiles(projectRoot, app, options.entries ?? []);
  const stats: BuildStats = {
    modules: 0,
    functions: 0,
    edges: { static: 0, heuristic: 0 },
    unresolvedCalls: 0,
    unresolvedModules: [],
    parseErrors: [],
    oversized: [],
    bundled: [],
    manifestProblems: [],
  };

  const modules = new Map<string, ModuleRecord>();
  // The app's declared dependencies are scanned too, reached or not: a vulnerable function in an
  // installed package nothing calls is then a node the graph proves unreachable, not one it lacks.
  const queue = [...entries.map((e) => e.file), ...dependencyMains(projectRoot, app, resolver)];
  const unresolved = new Set<string>();
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (modules.has(file)) continue;
    const record = loadModule(file, projectRoot, resolver, stats);
    modules.set(file, record);
    for (const request of record.scan.requests) {
      const target = resolver.resolve(request.specifier, file);
      if (target === undefined) {
        if (!isBuiltin(request.specifier)) unresolved.add(request.specifier);
        continue;
      }
      if (!isSourceFile(target)) continue;
      record.loads.set(request.specifier, target);
      if (!modules.has(target)) queue.push(target);
    }
    if (modules.size % 200 === 0) options.onProgress?.(modules.size, queue.length);
  }
  options.onProgress?.(modules.size, 0);

  const nodes: GraphNodeOut[] = [];
  // Two installed copies of one package version are the same functions: one node each.
  const seen = new Set<string>();
  for (const record of modules.values()) {
    for (const [index, fn] of record.scan.functions.entries()) {
      if (seen.has(record.ids[index]!)) continue;
      seen.add(record.ids[index]!);
      nodes.push({
        id: record.ids[index]!,
        name: fn.qualifiedName,
        kind: fn.kind,
        namespace: record.pkg?.name ?? '',
        file: record.modulePath,
        line: fn.line,
        ...(record.pkg ? { purl: npmPurl(record.pkg.name, record.pkg.version) } : {}),
        codeId: record.codeIds[index]!,
      });
    }
  }

  const edges = new Map<string, GraphEdgeOut>();
  const addEdge = (sourceId: string, targetId: string, kind: 'static' | 'heuristic', reason: string) => {
    const key = `${sourceId}\u0000${targetId}`;
    const existing = edges.get(key);
    // A static edge wins over a heuristic guess for the same pair.
    if (existing && (existing.kind === 'static' || kind === 'heuristic')) return;
    edges.set(key, { sourceId, targetId, kind, reason });
  };
  const linker = new Linker(modules);
  for (const record of modules.values()) {
    for (const request of record.scan.requests) {
      const target = modules.get(record.loads.get(request.specifier) ?? '');
      if (target)
        addEdge(record.ids[request.from]!, target.ids[0]!, 'static', request.dynamic ? 'dynamic-import' : 'import');
    }
    for (const call of record.scan.calls) {
      const resolved = linker.resolveCall(record, call);
      if (resolved.targets.length === 0) stats.unresolvedCalls += call.callback ? 0 : 1;
      for (const target of resolved.targets) addEdge(record.ids[call.from]!, target, resolved.kind, resolved.reason);
    }
  }

  const edgeList = [...edges.values()].sort(
    (a, b) => compare(a.sourceId, b.sourceId) || compare(a.targetId, b.targetId),
  );
  for (const e of edgeList) stats.edges[e.kind] += 1;
  stats.functions = nodes.length;
  stats.modules = modules.size;
  stats.unresolvedModules = [...unresolved].sort();
  stats.manifestProblems = [...resolver.problems].map(([file, reason]) => ({
    file: posixRelative(projectRoot, file),
    reason,
  }));
  const graph: CallGraph = {
    schema: 'stella.callgraph.v1',
    metadata: {
      language: 'javascript',
      component: app?.name ?? posixRelative(resolvePath(projectRoot, '..'), projectRoot),
      version: app?.version ?? '0.0.0',
      generator: 'stella callgraph node',
    },
    nodes: nodes.sort((a, b) => compare(a.id, b.id)),
    edges: edgeList,
    entrypoints: entries.map((e, order) => ({ nodeId: modules.get(e.file)!.ids[0]!, kind: e.kind, order })),
  };
  return { graph, stats };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function loadModule(
  file: string,
  projectRoot: string,
  resolver: ReturnType<typeof createResolver>,
  stats: BuildStats,
): ModuleRecord {
  const pkg = resolver.packageOf(file);
  const modulePath = posixRelative(pkg?.root ?? projectRoot, file);
  const owner = pkg?.name ?? posixRelative(projectRoot, file);
  const source = readFileSync(file, 'utf8');
  const scan = scanFile(file, source);
  if (scan.oversized) stats.oversized.push(posixRelative(projectRoot, file));
  if (scan.parseError) stats.parseErrors.push({ file: posixRelative(projectRoot, file), reason: scan.parseError });
  if (scan.bundled) stats.bundled.push(posixRelative(projectRoot, file));
  const ids = scan.functions.map((fn) => nodeSymbolId(owner, modulePath, fn.qualifiedName, fn.kind));
  const codeIds = scan.functions.map(
    (fn) => `sha256:${createHash('sha256').update(source.slice(fn.start, fn.end)).digest('hex')}`,
  );
  return { file, scan, pkg, modulePath, ids, codeIds, loads: new Map() };
}

function dependencyMains(
  projectRoot: string,
  app: PackageInfo | undefined,
  resolver: ReturnType<typeof createResolver>,
): string[] {
  const deps = app?.manifest.dependencies;
  if (!deps || typeof deps !== 'object') return [];
  const from = join(projectRoot, 'package.json');
  return Object.keys(deps)
    .sort()
    .map((name) => resolver.resolve(name, from))
    .filter((file): file is string => file !== undefined && isSourceFile(file));
}

interface EntryFile {
  file: string;
  kind: string;
}

/** --entry files, else the app's package.json `main`, `bin` and `exports` targets, else index.js. */
function entryFiles(projectRoot: string, app: PackageInfo | undefined, given: readonly string[]): EntryFile[] {
  const resolver = createResolver(projectRoot);
  const found = new Map<string, string>();
  const add = (path: string, kind: string) => {
    const file = resolver.resolve(
      path.startsWith('.') || path.startsWith('/') ? path : `./${path}`,
      join(projectRoot, 'package.json'),
    );
    if (file && !found.has(file)) found.set(file, kind);
  };
  for (const entry of given) {
    const absolute = resolvePath(projectRoot, entry);
    const file = resolver.resolve(absolute, join(projectRoot, 'package.json'));
    if (!file) throw new Error(`--entry ${entry}: no such module under ${projectRoot}`);
    found.set(file, 'entry');
  }
  if (found.size === 0 && app) {
    const manifest = app.manifest;
    if (typeof manifest.main === 'string') add(manifest.main, 'main');
    const bin = manifest.bin;
    if (typeof bin === 'string') add(bin, 'bin');
    else if (bin && typeof bin === 'object')
      for (const path of Object.values(bin)) if (typeof path === 'string') add(path, 'bin');
    const exportTargets = (value: unknown): string[] =>
      typeof value === 'string'
        ? [value]
        : Array.isArray(value)
          ? value.flatMap(exportTargets)
          : value && typeof value === 'object'
            ? Object.values(value).flatMap(exportTargets)
            : [];
    for (const path of exportTargets(manifest.exports)) if (!path.includes('*')) add(path, 'export');
  }
  if (found.size === 0) add('./index', 'main');
  if (found.size === 0) {
    throw new Error(
      `${projectRoot}: no entry point (package.json main, bin or exports, or index.js / index.ts); name one with --entry <file>`,
    );
  }
  return [...found].map(([file, kind]) => ({ file, kind }));
}

/** Resolves call sites to node ids across modules, following bindings and re-exports. */
class Linker {
  private readonly modules: Map<string, ModuleRecord>;
  private readonly transitive = new Map<string, ModuleRecord[]>();
  constructor(modules: Map<string, ModuleRecord>) {
    this.modules = modules;
  }

  resolveCall(
    record: ModuleRecord,
    call: CallSite,
  ): { targets: string[]; kind: 'static' | 'heuristic'; reason: string } {
    const reason = call.callback ? 'callback' : call.construct ? 'new' : 'call';
    const { callee } = call;
    if (callee.type === 'function') return { targets: [record.ids[callee.index]!], kind: 'static', reason };
    if (callee.type === 'name') {
      const binding = this.lookup(record, call.from, callee.name);
      return { targets: binding ? this.bindingTargets(record, binding, []) : [], kind: 'static', reason };
    }
    if (callee.computed) return { targets: [], kind: 'heuristic', reason };
    const [head, ...rest] = callee.path;
    if (head !== undefined && head !== 'this') {
      const binding = this.lookup(record, call.from, head);
      if (binding) {
        const targets = this.bindingTargets(record, binding, [...rest, callee.property]);
        if (targets.length > 0) return { targets, kind: 'static', reason };
      }
      // `F.method()` where methods were assigned onto F or its prototype.
      const members = this.lookup(record, call.from, `${callee.path.join('.')}.`);
      if (members?.type === 'object' && members.members.has(callee.property)) {
        return { targets: [record.ids[members.members.get(callee.property)!]!], kind: 'static', reason };
      }
    }
    // `this.m()` in a method of X (or an arrow inside one): X's method m, when X has one.
    if (head === 'this' && rest.length === 0) {
      const own = this.ownMethod(record, call.from, callee.property);
      if (own !== undefined) return { targets: [record.ids[own]!], kind: 'static', reason: 'this-method' };
    }
    // Node's and the language's own objects (`process.argv.slice()`, `JSON.parse()`) call no package code.
    if (head !== undefined && GLOBALS.has(head) && !this.lookup(record, call.from, head)) {
      return { targets: [], kind: 'heuristic', reason };
    }
    // A receiver the builder cannot type: every function of that method name in the caller's module
    // and the modules it loads; failing those, every function assigned to a computed member
    // (`app[method] = function`) in what the caller's module loads, directly or not.
    const direct = [record, ...[...record.loads.values()].map((f) => this.modules.get(f)!).filter(Boolean)];
    const named = direct.flatMap((r) => this.named(r, callee.property));
    if (named.length > 0) return { targets: named, kind: 'heuristic', reason: `method-by-name:${callee.property}` };
    const dynamic = this.loadedFrom(record).flatMap((r) => this.named(r, '[]'));
    return { targets: dynamic, kind: 'heuristic', reason: `dynamic-member:${callee.property}` };
  }

  /** Ids of a module's functions whose name ends in `name` (`[]`: assigned to a computed member). */
  private named(record: ModuleRecord, name: string): string[] {
    if (!record.byLastSegment) {
      const index = new Map<string, number[]>();
      for (const [i, fn] of record.scan.functions.entries()) {
        if (fn.kind === 'module') continue;
        const key = fn.qualifiedName.endsWith('[]') ? '[]' : lastSegment(fn.qualifiedName);
        index.set(key, [...(index.get(key) ?? []), i]);
      }
      record.byLastSegment = index;
    }
    return (record.byLastSegment.get(name) ?? []).map((i) => record.ids[i]!);
  }

  /** The method `property` of the class or constructor whose method (or constructor) `from` is in. */
  private ownMethod(record: ModuleRecord, from: number, property: string): number | undefined {
    const fns = record.scan.functions;
    let at = from;
    while (at > 0 && fns[at]!.arrow) at = fns[at]!.parent;
    const fn = fns[at];
    if (!fn || fn.kind === 'module') return undefined;
    const local = fn.qualifiedName.split('/').at(-1)!.replace(/~\d+$/, '');
    const owner =
      fn.kind === 'constructor' ? local : local.includes('.') ? local.slice(0, local.lastIndexOf('.')) : undefined;
    if (!owner) return undefined;
    const prefix = fn.qualifiedName.includes('/')
      ? `${fn.qualifiedName.slice(0, fn.qualifiedName.lastIndexOf('/'))}/`
      : '';
    record.byQualifiedName ??= new Map(fns.map((f, i) => [f.qualifiedName, i]));
    return record.byQualifiedName.get(`${prefix}${owner}.${property}`);
  }

  /** The modules `record` loads, directly or through others (bounded), cached per module. */
  private loadedFrom(record: ModuleRecord): ModuleRecord[] {
    const cached = this.transitive.get(record.file);
    if (cached) return cached;
    const seen = new Set<string>([record.file]);
    const queue = [...record.loads.values()];
    const out: ModuleRecord[] = [];
    while (queue.length > 0 && out.length < MAX_TRANSITIVE_MODULES) {
      const file = queue.shift()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const loaded = this.modules.get(file);
      if (!loaded) continue;
      out.push(loaded);
      queue.push(...loaded.loads.values());
    }
    this.transitive.set(record.file, out);
    return out;
  }

  /** A name in the scope chain of function `from` (hoisting holds: scopes are complete after the scan). */
  private lookup(record: ModuleRecord, from: number, name: string): Binding | undefined {
    for (let scope = from; scope >= 0; scope = record.scan.functions[scope]!.parent) {
      const binding = record.scan.scopes[scope]!.get(name);
      if (binding) return binding;
    }
    return undefined;
  }

  /** Node ids a binding leads to once `path` (member names) is applied: functions, not objects. */
  private bindingTargets(record: ModuleRecord, binding: Binding, path: string[], depth = 0): string[] {
    if (depth > MAX_EXPORT_DEPTH) return [];
    if (binding.type === 'function') {
      if (path.length === 0) return [record.ids[binding.index]!];
      // fn.call / fn.apply / fn.bind run the function itself.
      if (path.length === 1 && ['call', 'apply', 'bind'].includes(path[0]!)) return [record.ids[binding.index]!];
      const member = path.length === 1 ? record.scan.members.get(binding.index)?.get(path[0]!) : undefined;
      return member !== undefined ? [record.ids[member]!] : [];
    }
    if (binding.type === 'object') {
      const [first, ...rest] = path;
      if (first === undefined) return [];
      const index = binding.members.get(first);
      return index !== undefined && rest.length === 0 ? [record.ids[index]!] : [];
    }
    const target = this.modules.get(record.loads.get(binding.specifier) ?? '');
    if (!target) return [];
    const names = binding.member !== undefined ? [binding.member, ...path] : path;
    return this.exportTargets(target, names.length === 0 ? ['default'] : names, depth + 1);
  }

  /** What `require(module).a.b` (names = [a, b]) is, as node ids; `default` is module.exports itself. */
  private exportTargets(record: ModuleRecord, names: string[], depth: number): string[] {
    if (depth > MAX_EXPORT_DEPTH) return [];
    const [name, ...rest] = names as [string, ...string[]];
    const exported = record.scan.exports.get(name);
    if (exported) return this.exportTarget(record, exported, rest, depth);
    if (name === 'default' && record.scan.exports.size > 0 && rest.length === 0) return [];
    // `module.exports = fn` then `module.exports.x = …` in CJS: the default export carries members.
    const defaultExport = record.scan.exports.get('default');
    if (defaultExport && name !== 'default') {
      const viaDefault = this.exportTarget(record, defaultExport, names, depth);
      if (viaDefault.length > 0) return viaDefault;
    }
    for (const specifier of record.scan.reexportAll) {
      const target = this.modules.get(record.loads.get(specifier) ?? '');
      if (!target) continue;
      const found = this.exportTargets(target, names, depth + 1);
      if (found.length > 0) return found;
    }
    return [];
  }

  private exportTarget(record: ModuleRecord, exported: ExportTarget, rest: string[], depth: number): string[] {
    if (exported.type === 'function') {
      if (rest.length === 0) return [record.ids[exported.index]!];
      return this.bindingTargets(record, { type: 'function', index: exported.index }, rest, depth + 1);
    }
    if (exported.type === 'local') {
      const binding = this.lookup(record, exported.scope, exported.name);
      return binding ? this.bindingTargets(record, binding, rest, depth + 1) : [];
    }
    const target = this.modules.get(record.loads.get(exported.specifier) ?? '');
    if (!target) return [];
    const names = exported.member !== undefined ? [exported.member, ...rest] : rest;
    return this.exportTargets(target, names.length === 0 ? ['default'] : names, depth + 1);
  }
}

function lastSegment(qualifiedName: string): string {
  const local = qualifiedName.split('/').at(-1)!;
  return local.split('.').at(-1)!.replace(/~\d+$/, '');
}
