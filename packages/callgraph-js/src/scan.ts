// SPDX-License-Identifier: Apache-2.0
// One pass over a JavaScript module's AST (acorn): its functions, each with the offset V8 reports for
// it, a qualified name and a kind; its call sites; its require/import bindings; and what it exports.
// Pure and synchronous. The static builder (build.ts) reads all of it; the runtime observer reads only
// `functions`, so a function V8 saw running joins the static node by (module, key) (spec
// reachability §3.2).
//
// The key is the UTF-16 offset where V8's coverage range for the function starts, checked against
// Node 24's precise coverage: a function declaration or expression starts at `function` (or `async`),
// an arrow at its parameters, a class or object-literal method (getter, setter, async, generator,
// computed, private, constructor) at the start of its definition, after `static` for static members.
import { type Node, parse } from 'acorn';

export type FunctionKind = 'module' | 'function' | 'method' | 'getter' | 'setter' | 'constructor';

export interface FunctionEntry {
  /** Where V8's coverage range for this function starts (UTF-16 offset into the source). */
  key: number;
  start: number;
  end: number;
  /** 1-based line and column of `key`. */
  line: number;
  column: number;
  /** e.g. `main`, `Range.parseRange`, `Layer.match`, `main/<anonymous:12>`; `<module>` (or `<bundle>`) for the top level. */
  qualifiedName: string;
  kind: FunctionKind;
  /** Index of the enclosing function (the module is 0); -1 for the module itself. */
  parent: number;
  /** An arrow function: `this` inside it is its enclosing function's. */
  arrow: boolean;
}

/** What a call site names: a binding (`f()`), a member path (`a.b.c()`, `this.m()`), or an inline function. */
export type Callee =
  | { type: 'name'; name: string }
  | { type: 'member'; path: string[]; property: string; computed: boolean }
  | { type: 'function'; index: number };

export interface CallSite {
  /** The function the call is made from (0 = module top level). */
  from: number;
  callee: Callee;
  /** `new X()`. */
  construct: boolean;
  /** The callee is passed as an argument (a callback) rather than called here. */
  callback: boolean;
  line: number;
}

/** A module a binding or statement loads: `require('x')`, `import … from 'x'`, `import('x')`. */
export interface ModuleRequest {
  specifier: string;
  /** `import()` or `require` inside a function: loaded when that function runs. */
  dynamic: boolean;
  from: number;
  line: number;
}

/** What a local name refers to in its scope. */
export type Binding =
  | { type: 'function'; index: number }
  | { type: 'module'; specifier: string; member?: string }
  | { type: 'object'; members: Map<string, number> };

/** One export of the module: a function of it, a member of another module, or all of another module. */
export type ExportTarget =
  | { type: 'function'; index: number }
  | { type: 'local'; name: string; scope: number }
  | { type: 'module'; specifier: string; member?: string };

export interface ModuleScan {
  functions: FunctionEntry[];
  calls: CallSite[];
  requests: ModuleRequest[];
  /** Per function (index), the names declared in it. Resolved after the walk, so hoisting holds. */
  scopes: Map<string, Binding>[];
  /** Named exports; `default` is module.exports itself / `export default`. */
  exports: Map<string, ExportTarget>;
  /** `module.exports = require('x')`, `export * from 'x'`: every export of these modules is re-exported. */
  reexportAll: string[];
  /** Functions assigned onto a function or its prototype (`F.x = fn`, `F.prototype.x = fn`), by F's index. */
  members: Map<number, Map<string, number>>;
  /** Why the source did not parse (as a module or a script); the scan is then the module node only. */
  parseError?: string;
  /** Bundled or minified output (isBundled): its top level is `<bundle>` instead of `<module>`. */
  bundled: boolean;
  /** Over MAX_MODULE_CHARS: not parsed, its top level only (as `<bundle>`). */
  oversized?: boolean;
}

/** Runtimes bundlers put in their output: webpack, esbuild, parcel, SystemJS. */
const BUNDLER_MARKERS = /__webpack_require__|__webpack_modules__|\b__commonJS\(|\bparcelRequire\b|\bSystem\.register\(/;
/** Below this a file is too small to call minified whatever its line lengths. */
const MINIFIED_MIN_BYTES = 4096;
/** Mean characters per line above which a file is minified: written code averages 30–60. */
const MINIFIED_MEAN_LINE = 200;

/**
 * Whether a file is bundled or minified output: a bundler's runtime in it, or lines far longer than
 * anyone writes. Such a file's function names are the bundle's (often mangled), not its sources', so
 * advisory symbols may not match them; its top level is named `<bundle>`, which Signals uses as the
 * package-level stand-in for symbols it cannot find (labelled `precision: package`). Source maps are
 * not read. Decided from the text alone, so the builder and the observer always agree.
 */
export function isBundled(source: string): boolean {
  if (BUNDLER_MARKERS.test(source)) return true;
  if (source.length < MINIFIED_MIN_BYTES) return false;
  let lines = 1;
  for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1)) lines++;
  return source.length / lines > MINIFIED_MEAN_LINE;
}

type AnyNode = Node & Record<string, unknown>;

const isNode = (value: unknown): value is AnyNode =>
  typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';

const FUNCTION_TYPES = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);

/** Parses as a module first (import/export), then as a CommonJS script; a file neither accepts scans as empty. */
export function scanModule(source: string): ModuleScan {
  // Minified bundles and generated tables: not worth a parse, and the same rule on both sides.
  if (source.length > MAX_MODULE_CHARS) return { ...emptyScan(source, true), oversized: true };
  let program: AnyNode;
  try {
    program = parseSource(source, 'module');
  } catch (moduleError) {
    try {
      program = parseSource(source, 'script');
    } catch {
      return { ...emptyScan(source), parseError: (moduleError as Error).message };
    }
  }
  return new Scanner(source).run(program);
}

function parseSource(source: string, sourceType: 'module' | 'script'): AnyNode {
  return parse(source, {
    ecmaVersion: 'latest',
    sourceType,
    allowHashBang: true,
    allowReturnOutsideFunction: sourceType === 'script',
    allowAwaitOutsideFunction: true,
    locations: true,
  }) as unknown as AnyNode;
}

/** Files larger than this (in UTF-16 units) are not parsed: their top level only, as `<bundle>`. */
export const MAX_MODULE_CHARS = 8 * 1024 * 1024;

/** A module with nothing in it but its top level, for a file that cannot be scanned. */
export function emptyScan(source: string, bundled = isBundled(source)): ModuleScan {
  return {
    bundled,
    functions: [moduleEntry(source, bundled)],
    calls: [],
    requests: [],
    scopes: [new Map()],
    exports: new Map(),
    reexportAll: [],
    members: new Map(),
  };
}

function moduleEntry(source: string, bundled: boolean): FunctionEntry {
  return {
    key: 0,
    start: 0,
    end: source.length,
    line: 1,
    column: 1,
    qualifiedName: bundled ? '<bundle>' : '<module>',
    kind: 'module',
    parent: -1,
    arrow: false,
  };
}

/** The dotted path of `a.b.c` (`this` included), or undefined when any part is computed or a call. */
function memberPath(node: AnyNode): string[] | undefined {
  if (node.type === 'Identifier') return [node.name as string];
  if (node.type === 'ThisExpression') return ['this'];
  if (node.type === 'MemberExpression' && !node.computed) {
    const object = memberPath(node.object as AnyNode);
    const property = node.property as AnyNode;
    const name = property.type === 'PrivateIdentifier' ? `#${property.name as string}` : (property.name as string);
    return object ? [...object, name] : undefined;
  }
  return undefined;
}

/** `require('x')` with a literal argument. */
function requireSpecifier(node: unknown): string | undefined {
  if (!isNode(node) || node.type !== 'CallExpression') return undefined;
  const callee = node.callee as AnyNode;
  const [arg] = node.arguments as AnyNode[];
  if (callee.type !== 'Identifier' || callee.name !== 'require' || !arg) return undefined;
  return arg.type === 'Literal' && typeof arg.value === 'string' ? arg.value : undefined;
}

/** The name a property key gives (identifier, string, number, private); undefined when computed. */
function keyName(key: AnyNode, computed: boolean): string | undefined {
  if (computed) return undefined;
  if (key.type === 'Identifier') return key.name as string;
  if (key.type === 'PrivateIdentifier') return `#${key.name as string}`;
  if (key.type === 'Literal') return String(key.value);
  return undefined;
}

/** `module.exports`, `exports` and their members, as an export name (`default` for the object itself). */
function exportName(path: string[]): string | undefined {
  if (path.length === 2 && path[0] === 'module' && path[1] === 'exports') return 'default';
  if (path.length === 3 && path[0] === 'module' && path[1] === 'exports') return path[2];
  if (path.length === 2 && path[0] === 'exports') return path[1];
  return undefined;
}

class Scanner {
  private readonly source: string;
  private readonly functions: FunctionEntry[];
  private readonly calls: CallSite[] = [];
  private readonly requests: ModuleRequest[] = [];
  private readonly scopes: Map<string, Binding>[] = [new Map()];
  private readonly exports = new Map<string, ExportTarget>();
  private readonly reexportAll: string[] = [];
  private readonly members = new Map<number, Map<string, number>>();
  private readonly lineStarts: number[];
  /** Names already used per parent, so a second `<anonymous:12>` in the same function gets `~2`. */
  private readonly used = new Map<string, number>();

  private readonly bundled: boolean;

  constructor(source: string) {
    this.source = source;
    this.bundled = isBundled(source);
    this.functions = [moduleEntry(source, this.bundled)];
    this.lineStarts = [0];
    for (let i = 0; i < source.length; i++) if (source.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
  }

  run(program: AnyNode): ModuleScan {
    this.visit(program, 0, undefined);
    return {
      bundled: this.bundled,
      functions: this.functions,
      calls: this.calls,
      requests: this.requests,
      scopes: this.scopes,
      exports: this.exports,
      reexportAll: this.reexportAll,
      members: this.members,
    };
  }

  private position(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.lineStarts[lo]! + 1 };
  }

  /** Records a function and returns its index; `name` undefined means anonymous. */
  private addFunction(node: AnyNode, key: number, parent: number, name: string | undefined, kind: FunctionKind) {
    const { line, column } = this.position(key);
    const local = name ?? `<anonymous:${line}>`;
    const base = parent === 0 ? local : `${this.functions[parent]!.qualifiedName}/${local}`;
    const seen = (this.used.get(base) ?? 0) + 1;
    this.used.set(base, seen);
    const qualifiedName = seen === 1 ? base : `${base}~${seen}`;
    const arrow = node.type === 'ArrowFunctionExpression';
    this.functions.push({ key, start: node.start, end: node.end, line, column, qualifiedName, kind, parent, arrow });
    this.scopes.push(new Map());
    return this.functions.length - 1;
  }

  /** A function node reached with the name its context gives it (declaration, variable, property…). */
  private visitFunction(node: AnyNode, parent: number, name: string | undefined, kind: FunctionKind, key = node.start) {
    const index = this.addFunction(node, key, parent, name, kind);
    for (const param of node.params as AnyNode[]) this.visit(param, index, undefined);
    this.visit(node.body as AnyNode, index, undefined);
    return index;
  }

  private visitClass(node: AnyNode, scope: number, name: string | undefined): number | undefined {
    const className = name ?? (node.id ? ((node.id as AnyNode).name as string) : undefined);
    if (node.superClass) this.visit(node.superClass as AnyNode, scope, undefined);
    let ctor: number | undefined;
    const members = new Map<string, number>();
    for (const member of (node.body as AnyNode).body as AnyNode[]) {
      if (member.type === 'MethodDefinition') {
        const value = member.value as AnyNode;
        const key = member.key as AnyNode;
        const prop = keyName(key, member.computed as boolean);
        if (member.computed) this.visit(key, scope, undefined);
        const kind: FunctionKind =
          member.kind === 'constructor'
            ? 'constructor'
            : member.kind === 'get'
              ? 'getter'
              : member.kind === 'set'
                ? 'setter'
                : 'method';
        const owner = className ?? '<class>';
        const local =
          kind === 'constructor' ? owner : `${owner}.${prop ?? `<computed:${this.position(key.start).line}>`}`;
        const index = this.visitFunction(value, scope, local, kind, this.methodKey(member));
        if (kind === 'constructor') ctor = index;
        else if (prop) members.set(prop, index);
      } else if (member.type === 'PropertyDefinition' || member.type === 'StaticBlock') {
        // Field initialisers run as V8's synthetic <instance_members_initializer>: not a node of their own;
        // functions defined in them are named after the class.
        if (member.type === 'PropertyDefinition') {
          const prop = keyName(member.key as AnyNode, member.computed as boolean);
          const value = member.value as AnyNode | null;
          if (value && FUNCTION_TYPES.has(value.type)) {
            const index = this.visitFunction(
              value,
              scope,
              `${className ?? '<class>'}.${prop ?? '<computed>'}`,
              'method',
            );
            if (prop) members.set(prop, index);
          } else if (value) this.visit(value, scope, undefined);
        } else this.visit(member, scope, undefined);
      }
    }
    if (className) {
      const binding: Binding = ctor !== undefined ? { type: 'function', index: ctor } : { type: 'object', members };
      this.scopes[scope]!.set(className, binding);
      // Static and instance methods are reachable by name as ClassName.method too.
      this.scopes[scope]!.set(`${className}.`, { type: 'object', members });
    }
    return ctor;
  }

  /** V8 starts a method's range at its definition, after `static` (see the header). */
  private methodKey(member: AnyNode): number {
    if (!member.static) return member.start;
    let at = member.start + 'static'.length;
    while (at < member.end && /\s/.test(this.source[at]!)) at++;
    return at;
  }

  private visitObject(node: AnyNode, scope: number, owner: string | undefined): Map<string, number> {
    const members = new Map<string, number>();
    for (const property of node.properties as AnyNode[]) {
      if (property.type !== 'Property') {
        this.visit(property, scope, undefined);
        continue;
      }
      const key = property.key as AnyNode;
      const prop = keyName(key, property.computed as boolean);
      if (property.computed) this.visit(key, scope, undefined);
      const value = property.value as AnyNode;
      const local = owner && prop ? `${owner}.${prop}` : prop;
      if (FUNCTION_TYPES.has(value.type)) {
        const method = property.method || property.kind !== 'init';
        const kind: FunctionKind =
          property.kind === 'get' ? 'getter' : property.kind === 'set' ? 'setter' : method ? 'method' : 'function';
        const index = this.visitFunction(value, scope, local, kind, method ? property.start : value.start);
        if (prop) members.set(prop, index);
      } else if (value.type === 'Identifier' && prop) {
        const bound = this.lookupLater(value.name as string, scope);
        if (bound !== undefined) members.set(prop, bound);
        this.visit(value, scope, undefined);
      } else {
        this.visit(value, scope, local);
      }
    }
    return members;
  }

  /** A function declared earlier in this scope chain (hoisting is resolved by the builder; this is for object shorthands). */
  private lookupLater(name: string, scope: number): number | undefined {
    for (let s = scope; s >= 0; s = this.functions[s]!.parent) {
      const binding = this.scopes[s]!.get(name);
      if (binding?.type === 'function') return binding.index;
      if (s === 0) break;
    }
    return undefined;
  }

  /** Binds `name = <init>` in `scope`: a function, a required module (or a member of it), an object of methods. */
  private bindValue(name: string, init: AnyNode, scope: number): void {
    const specifier = requireSpecifier(init);
    if (specifier !== undefined) {
      this.request(specifier, scope, init, false);
      this.scopes[scope]!.set(name, { type: 'module', specifier });
      return;
    }
    if (init.type === 'MemberExpression' && !init.computed && requireSpecifier(init.object) !== undefined) {
      const from = requireSpecifier(init.object)!;
      this.request(from, scope, init, false);
      this.scopes[scope]!.set(name, {
        type: 'module',
        specifier: from,
        member: (init.property as AnyNode).name as string,
      });
      return;
    }
    if (FUNCTION_TYPES.has(init.type)) {
      const index = this.visitFunction(init, scope, name, 'function');
      this.scopes[scope]!.set(name, { type: 'function', index });
      return;
    }
    if (init.type === 'ClassExpression') {
      this.visitClass(init, scope, name);
      return;
    }
    if (init.type === 'ObjectExpression') {
      this.scopes[scope]!.set(name, { type: 'object', members: this.visitObject(init, scope, name) });
      return;
    }
    if (init.type === 'AssignmentExpression') {
      // `var proto = module.exports = function () {}`: both names refer to the function.
      const index = this.visitAssignment(init, scope);
      if (index !== undefined) this.scopes[scope]!.set(name, { type: 'function', index });
      return;
    }
    this.visit(init, scope, name);
  }

  private request(specifier: string, scope: number, node: AnyNode, dynamic: boolean): void {
    this.requests.push({
      specifier,
      dynamic: dynamic || scope !== 0,
      from: scope,
      line: this.position(node.start).line,
    });
  }

  /** Returns the function the right-hand side defines, if it is one (so `a = b = function` binds both). */
  private visitAssignment(node: AnyNode, scope: number): number | undefined {
    const left = node.left as AnyNode;
    const right = node.right as AnyNode;
    const path = left.type === 'MemberExpression' ? memberPath(left) : undefined;
    if (!path) {
      if (left.type === 'Identifier' && isNode(right)) {
        this.bindValue(left.name as string, right, scope);
        const bound = this.scopes[scope]!.get(left.name as string);
        return bound?.type === 'function' ? bound.index : undefined;
      }
      if (left.type === 'MemberExpression' && left.computed && FUNCTION_TYPES.has(right.type)) {
        // `app[method] = function`: a member whose name is only known at run time. Named `<owner>[]`
        // so calls on receivers the builder cannot type can reach it as a heuristic candidate.
        const owner = memberPath(left.object as AnyNode);
        this.visit(left.property as AnyNode, scope, undefined);
        return this.visitFunction(
          right,
          scope,
          `${owner ? owner.filter((p) => p !== 'prototype').join('.') : '<dynamic>'}[]`,
          'function',
        );
      }
      this.visit(left, scope, undefined);
      this.visit(right, scope, undefined);
      return undefined;
    }
    const exported = exportName(path);
    // `Layer.prototype.match = function` is the method `Layer.match`.
    const name = path.filter((p) => p !== 'prototype').join('.');
    const local = exported && exported !== 'default' ? exported : exported === 'default' ? undefined : name;
    const specifier = requireSpecifier(right);
    if (specifier !== undefined) {
      this.request(specifier, scope, right, false);
      if (exported === 'default') this.reexportAll.push(specifier);
      else if (exported) this.exports.set(exported, { type: 'module', specifier });
      return undefined;
    }
    let defined: number | undefined;
    if (FUNCTION_TYPES.has(right.type)) {
      const fnName = right.id ? ((right.id as AnyNode).name as string) : undefined;
      defined = this.visitFunction(right, scope, local ?? fnName ?? '<exports>', 'function');
    } else if (right.type === 'AssignmentExpression') {
      defined = this.visitAssignment(right, scope);
    } else if (right.type === 'ObjectExpression' && exported === 'default') {
      for (const [member, index] of this.visitObject(right, scope, undefined))
        this.exports.set(member, { type: 'function', index });
      for (const property of right.properties as AnyNode[]) this.exportShorthand(property, scope);
      return undefined;
    } else if (right.type === 'Identifier' && exported) {
      this.exports.set(exported, { type: 'local', name: right.name as string, scope });
      return undefined;
    } else if (right.type === 'ClassExpression') {
      defined = this.visitClass(right, scope, local);
    } else {
      this.visit(left, scope, undefined);
      this.visit(right, scope, undefined);
      return undefined;
    }
    if (defined !== undefined) {
      if (exported) this.exports.set(exported, { type: 'function', index: defined });
      // Methods assigned onto a function or its prototype are reachable as Owner.method.
      else if (path.length >= 2) this.addMember(path, defined, scope);
    }
    return defined;
  }

  /** `module.exports = { a, b: require('x') }`: shorthand and required members of an exported object. */
  private exportShorthand(property: AnyNode, scope: number): void {
    if (property.type !== 'Property' || property.computed) return;
    const prop = keyName(property.key as AnyNode, false);
    const value = property.value as AnyNode;
    if (!prop) return;
    if (value.type === 'Identifier') this.exports.set(prop, { type: 'local', name: value.name as string, scope });
    const specifier = requireSpecifier(value);
    if (specifier !== undefined) this.exports.set(prop, { type: 'module', specifier });
  }

  private addMember(path: string[], index: number, scope: number): void {
    const owner = path
      .slice(0, -1)
      .filter((p) => p !== 'prototype')
      .join('.');
    const key = `${owner}.`;
    const existing = this.scopes[scope]!.get(key);
    const members = existing?.type === 'object' ? existing.members : new Map<string, number>();
    members.set(path.at(-1)!, index);
    this.scopes[scope]!.set(key, { type: 'object', members });
    const ownerPath = path.slice(0, -1).filter((p) => p !== 'prototype');
    const ownerFn = ownerPath.length === 1 ? this.lookupLater(ownerPath[0]!, scope) : undefined;
    if (ownerFn !== undefined) {
      const byOwner = this.members.get(ownerFn) ?? new Map<string, number>();
      byOwner.set(path.at(-1)!, index);
      this.members.set(ownerFn, byOwner);
    }
  }

  private visitCall(node: AnyNode, scope: number, construct: boolean): void {
    const callee = node.callee as AnyNode;
    const line = this.position(node.start).line;
    const specifier = requireSpecifier(node);
    if (specifier !== undefined) {
      this.request(specifier, scope, node, false);
      return;
    }
    if (callee.type === 'Identifier') {
      this.calls.push({
        from: scope,
        callee: { type: 'name', name: callee.name as string },
        construct,
        callback: false,
        line,
      });
    } else if (callee.type === 'MemberExpression') {
      const object = memberPath(callee.object as AnyNode);
      const prop = keyName(callee.property as AnyNode, callee.computed as boolean);
      if (object && prop !== undefined) {
        this.calls.push({
          from: scope,
          callee: { type: 'member', path: object, property: prop, computed: false },
          construct,
          callback: false,
          line,
        });
      } else {
        this.calls.push({
          from: scope,
          callee: { type: 'member', path: object ?? [], property: prop ?? '', computed: prop === undefined },
          construct,
          callback: false,
          line,
        });
      }
      this.visit(callee.object as AnyNode, scope, undefined);
      if (callee.computed) this.visit(callee.property as AnyNode, scope, undefined);
    } else if (FUNCTION_TYPES.has(callee.type)) {
      // An IIFE: the function runs where it is defined.
      const index = this.visitFunction(callee, scope, undefined, 'function');
      this.calls.push({ from: scope, callee: { type: 'function', index }, construct, callback: false, line });
    } else {
      this.visit(callee, scope, undefined);
    }
    for (const arg of node.arguments as AnyNode[]) {
      if (FUNCTION_TYPES.has(arg.type)) {
        const index = this.visitFunction(arg, scope, undefined, 'function');
        this.calls.push({ from: scope, callee: { type: 'function', index }, construct: false, callback: true, line });
      } else if (arg.type === 'Identifier') {
        this.calls.push({
          from: scope,
          callee: { type: 'name', name: arg.name as string },
          construct: false,
          callback: true,
          line,
        });
      } else if (arg.type === 'MemberExpression' && memberPath(arg)) {
        const path = memberPath(arg)!;
        this.calls.push({
          from: scope,
          callee: { type: 'member', path: path.slice(0, -1), property: path.at(-1)!, computed: false },
          construct: false,
          callback: true,
          line,
        });
      } else this.visit(arg, scope, undefined);
    }
  }

  private visitImport(node: AnyNode): void {
    const specifier = (node.source as AnyNode).value as string;
    this.request(specifier, 0, node, false);
    for (const s of (node.specifiers as AnyNode[]) ?? []) {
      const local = (s.local as AnyNode).name as string;
      if (s.type === 'ImportDefaultSpecifier')
        this.scopes[0]!.set(local, { type: 'module', specifier, member: 'default' });
      else if (s.type === 'ImportNamespaceSpecifier') this.scopes[0]!.set(local, { type: 'module', specifier });
      else {
        const imported = s.imported as AnyNode;
        const member = imported.type === 'Identifier' ? (imported.name as string) : String(imported.value);
        this.scopes[0]!.set(local, { type: 'module', specifier, member });
      }
    }
  }

  private visitExport(node: AnyNode, scope: number): void {
    if (node.type === 'ExportAllDeclaration') {
      const specifier = (node.source as AnyNode).value as string;
      this.request(specifier, 0, node, false);
      if (node.exported) {
        const exported = node.exported as AnyNode;
        this.exports.set(exported.type === 'Identifier' ? (exported.name as string) : String(exported.value), {
          type: 'module',
          specifier,
        });
      } else this.reexportAll.push(specifier);
      return;
    }
    if (node.type === 'ExportDefaultDeclaration') {
      const declaration = node.declaration as AnyNode;
      if (FUNCTION_TYPES.has(declaration.type)) {
        const name = declaration.id ? ((declaration.id as AnyNode).name as string) : 'default';
        const index = this.visitFunction(declaration, scope, name, 'function');
        if (declaration.id) this.scopes[0]!.set(name, { type: 'function', index });
        this.exports.set('default', { type: 'function', index });
      } else if (declaration.type === 'ClassDeclaration' || declaration.type === 'ClassExpression') {
        const ctor = this.visitClass(declaration, scope, undefined);
        if (ctor !== undefined) this.exports.set('default', { type: 'function', index: ctor });
      } else if (declaration.type === 'Identifier') {
        this.exports.set('default', { type: 'local', name: declaration.name as string, scope: 0 });
      } else this.visit(declaration, scope, undefined);
      return;
    }
    // ExportNamedDeclaration
    const source = node.source as AnyNode | null;
    if (node.declaration) {
      const declaration = node.declaration as AnyNode;
      this.visit(declaration, scope, undefined);
      const names =
        declaration.type === 'VariableDeclaration'
          ? (declaration.declarations as AnyNode[])
              .map((d) => d.id as AnyNode)
              .filter((id) => id.type === 'Identifier')
              .map((id) => id.name as string)
          : declaration.id
            ? [(declaration.id as AnyNode).name as string]
            : [];
      for (const name of names) this.exports.set(name, { type: 'local', name, scope: 0 });
      return;
    }
    if (source) this.request(source.value as string, 0, node, false);
    for (const s of node.specifiers as AnyNode[]) {
      const exported = s.exported as AnyNode;
      const local = s.local as AnyNode;
      const exportedName = exported.type === 'Identifier' ? (exported.name as string) : String(exported.value);
      const localName = local.type === 'Identifier' ? (local.name as string) : String(local.value);
      this.exports.set(
        exportedName,
        source
          ? { type: 'module', specifier: source.value as string, member: localName }
          : { type: 'local', name: localName, scope: 0 },
      );
    }
  }

  /** Generic traversal; `name` is the name the context gives a function or class found directly here. */
  private visit(node: AnyNode | null | undefined, scope: number, name: string | undefined): void {
    if (!node) return;
    switch (node.type) {
      case 'FunctionDeclaration': {
        const fnName = node.id ? ((node.id as AnyNode).name as string) : 'default';
        // Registered before the body is visited so recursion and hoisted calls resolve.
        const index = this.visitFunction(node, scope, fnName, 'function');
        this.scopes[scope]!.set(fnName, { type: 'function', index });
        return;
      }
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        this.visitFunction(
          node,
          scope,
          name ?? (node.id ? ((node.id as AnyNode).name as string) : undefined),
          'function',
        );
        return;
      case 'ClassDeclaration':
      case 'ClassExpression':
        this.visitClass(node, scope, name);
        return;
      case 'VariableDeclarator': {
        const id = node.id as AnyNode;
        const init = node.init as AnyNode | null;
        if (id.type === 'Identifier' && init) this.bindValue(id.name as string, init, scope);
        else if (id.type === 'ObjectPattern' && init && requireSpecifier(init) !== undefined) {
          // const { a, b: c } = require('x')
          const specifier = requireSpecifier(init)!;
          this.request(specifier, scope, init, false);
          for (const p of id.properties as AnyNode[]) {
            if (p.type !== 'Property' || p.computed) continue;
            const member = keyName(p.key as AnyNode, false);
            const value = p.value as AnyNode;
            if (member && value.type === 'Identifier')
              this.scopes[scope]!.set(value.name as string, { type: 'module', specifier, member });
          }
        } else {
          this.visit(id, scope, undefined);
          this.visit(init, scope, undefined);
        }
        return;
      }
      case 'AssignmentExpression':
        this.visitAssignment(node, scope);
        return;
      case 'CallExpression':
        this.visitCall(node, scope, false);
        return;
      case 'NewExpression':
        this.visitCall(node, scope, true);
        return;
      case 'ImportExpression': {
        const source = node.source as AnyNode;
        if (source.type === 'Literal' && typeof source.value === 'string')
          this.request(source.value, scope, node, true);
        else this.visit(source, scope, undefined);
        return;
      }
      case 'ImportDeclaration':
        this.visitImport(node);
        return;
      case 'ExportAllDeclaration':
      case 'ExportDefaultDeclaration':
      case 'ExportNamedDeclaration':
        this.visitExport(node, scope);
        return;
      case 'ObjectExpression':
        this.visitObject(node, scope, name);
        return;
      case 'MethodDefinition':
      case 'PropertyDefinition':
        return; // only inside classes, handled by visitClass
      default:
        for (const key of Object.keys(node)) {
          if (key === 'type' || key === 'loc' || key === 'start' || key === 'end') continue;
          const value = node[key];
          if (Array.isArray(value)) {
            for (const item of value) if (isNode(item)) this.visit(item, scope, undefined);
          } else if (isNode(value)) this.visit(value, scope, undefined);
        }
    }
  }
}
