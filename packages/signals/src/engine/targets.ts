// Where reachability targets come from when a request names none: vulnerable symbols of advisories
// whose packages occur in the graph (asked of the AOC room through the VulnerableSymbols port), plus the operator overlay file mapping
// advisory id → symbols or glob patterns. Symbols are matched to graph nodes by id, by display name,
// or by a qualified suffix (".Sym", ":Sym", "/Sym", "#Sym"), within the advisory's package when the
// graph knows node packages.
import { readFileSync } from 'node:fs';
import { Errors, StellaError } from '@stella/core';
import type { Db } from '@stella/platform';
import type { CsrGraph } from '../graph/csr.ts';
import { assertStorableText } from '../text.ts';
import type { Target } from './reachability.ts';

export interface AdvisorySymbols {
  advisoryId: string;
  vendor?: string;
  aliases?: string[];
  package: string;
  path?: string;
  symbols: string[];
}

export interface OverlayEntry {
  /** Version-less purl the symbols belong to; optional. */
  package?: string;
  symbols?: string[];
  /** Glob patterns (`*` = any run of characters) over node ids and names. */
  patterns?: string[];
}

export type SymbolOverlay = Record<string, OverlayEntry>;

export function loadOverlay(path: string): SymbolOverlay {
  if (!path) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new StellaError(
      Errors.config,
      `signals.symbolOverlayPath ${path} is not readable JSON: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new StellaError(
      Errors.config,
      `signals.symbolOverlayPath ${path} must map advisory ids to {symbols, patterns}`,
    );
  }
  const out: SymbolOverlay = {};
  for (const [id, value] of Object.entries(parsed as Record<string, unknown>)) {
    const entry: OverlayEntry = Array.isArray(value) ? { symbols: value as string[] } : (value as OverlayEntry);
    out[id] = {
      ...(typeof entry.package === 'string' ? { package: entry.package } : {}),
      symbols: Array.isArray(entry.symbols) ? entry.symbols.filter((s) => typeof s === 'string') : [],
      patterns: Array.isArray(entry.patterns) ? entry.patterns.filter((s: unknown) => typeof s === 'string') : [],
    };
  }
  return out;
}

/**
 * The port to the advisories (the AOC room's `vulnerableSymbols`, given to signals by whoever builds
 * it): the vulnerable symbols advisories name for these packages. Only head revisions count, matched
 * by version-less purl.
 */
export interface VulnerableSymbols {
  vulnerableSymbols(db: Db, tenant: string, purls: readonly string[]): Promise<AdvisorySymbols[]>;
}

/** A target as a recompute request names it: a symbol id, or the documented members of an object. */
export type RequestTarget = string | { symbolId?: string; advisoryId?: string; package?: string };

/** Longest symbol id, advisory id or package of a requested target (runtime symbol ids share it). */
export const MAX_TARGET_TEXT = 4096;

/**
 * A recompute request's targets reduced to their documented members, before they are stored as the
 * subject's targets: anything else a target object carried (however deep) never reaches the
 * database or a digest, and text it cannot store is refused with ERR_INVALID_TEXT.
 */
export function requestTargets(value: readonly unknown[]): RequestTarget[] {
  const text = (v: unknown, where: string): string | undefined => {
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw new StellaError(Errors.validation, `${where} must be a string`);
    if (v.length > MAX_TARGET_TEXT) {
      throw new StellaError(Errors.validation, `${where} is longer than ${MAX_TARGET_TEXT} characters`);
    }
    assertStorableText(v, where);
    return v;
  };
  return value.map((t, i): RequestTarget => {
    if (typeof t === 'string') {
      const symbolId = text(t, `targets[${i}]`);
      if (symbolId === undefined) throw new StellaError(Errors.validation, `targets[${i}] must not be empty`);
      return symbolId;
    }
    if (typeof t !== 'object' || t === null || Array.isArray(t)) {
      throw new StellaError(Errors.validation, `targets[${i}] must be a symbol id or {symbolId, advisoryId, package}`);
    }
    const o = t as Record<string, unknown>;
    const symbolId = text(o.symbolId, `targets[${i}].symbolId`);
    const advisoryId = text(o.advisoryId, `targets[${i}].advisoryId`);
    const pkg = text(o.package, `targets[${i}].package`);
    return {
      ...(symbolId ? { symbolId } : {}),
      ...(advisoryId ? { advisoryId } : {}),
      ...(pkg ? { package: pkg } : {}),
    };
  });
}

/** The name stella callgraph node gives the top level of a bundled or minified file. */
export const BUNDLE_NODE_NAME = '<bundle>';

const globToRegex = (glob: string) =>
  new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`);

/** Resolves advisory symbols (and overlay entries) to graph node ids; advisories without symbols stay as unknown targets. */
export function resolveTargets(
  csr: CsrGraph | undefined,
  advisories: readonly AdvisorySymbols[],
  overlay: SymbolOverlay,
): Target[] {
  const out = new Map<string, Target>();
  const add = (t: Target) => out.set(`${t.advisoryId ?? ''}\u0000${t.symbolId ?? ''}\u0000${t.package ?? ''}`, t);
  const byName = new Map<string, number[]>();
  if (csr) {
    for (let i = 0; i < csr.ids.length; i++) {
      for (const key of [csr.ids[i]!, csr.names[i]!]) {
        if (!key) continue;
        const list = byName.get(key);
        if (list) list.push(i);
        else byName.set(key, [i]);
      }
    }
  }
  const inPackage = (i: number, pkg: string | undefined) => {
    if (!csr || !pkg) return true;
    const k = csr.purlOf[i]!;
    // Nodes without a package cannot be excluded: graphs without purls still match by name.
    return k === 0xffffffff || csr.purls[k] === pkg;
  };
  const match = (symbol: string, pkg: string | undefined, path: string | undefined): number[] => {
    if (!csr) return [];
    const exact = (byName.get(symbol) ?? []).filter((i) => inPackage(i, pkg));
    if (exact.length) return exact;
    const suffixes = [`.${symbol}`, `:${symbol}`, `/${symbol}`, `#${symbol}`];
    const hits: number[] = [];
    for (let i = 0; i < csr.ids.length; i++) {
      const id = csr.ids[i]!;
      const name = csr.names[i]!;
      if (!suffixes.some((s) => id.endsWith(s) || (name !== '' && name.endsWith(s)))) continue;
      if (path && !id.includes(path) && !name.includes(path)) continue;
      if (inPackage(i, pkg)) hits.push(i);
    }
    return hits;
  };
  // The top level of each bundled or minified file of a package (`<bundle>`, from stella callgraph
  // node): where a symbol the package's bundle renamed can still be placed, at package level.
  const bundles = new Map<string, number[]>();
  if (csr) {
    for (const i of byName.get(BUNDLE_NODE_NAME) ?? []) {
      const k = csr.purlOf[i]!;
      if (k === 0xffffffff) continue;
      const list = bundles.get(csr.purls[k]!);
      if (list) list.push(i);
      else bundles.set(csr.purls[k]!, [i]);
    }
  }
  const addSymbols = (
    advisoryId: string,
    pkg: string | undefined,
    path: string | undefined,
    symbols: readonly string[],
  ) => {
    for (const symbol of symbols) {
      const nodes = match(symbol, pkg, path);
      const fallback = nodes.length === 0 && pkg ? (bundles.get(pkg) ?? []) : [];
      if (nodes.length === 0 && fallback.length === 0) {
        add({ symbolId: symbol, advisoryId, ...(pkg ? { package: pkg } : {}) });
      }
      for (const i of nodes) add({ symbolId: csr!.ids[i]!, advisoryId, ...(pkg ? { package: pkg } : {}) });
      for (const i of fallback) add({ symbolId: csr!.ids[i]!, advisoryId, package: pkg!, precision: 'package' });
    }
  };

  for (const advisory of advisories) {
    const symbols = [...advisory.symbols, ...(overlay[advisory.advisoryId]?.symbols ?? [])];
    if (symbols.length === 0 && !overlay[advisory.advisoryId]?.patterns?.length) {
      add({ advisoryId: advisory.advisoryId, package: advisory.package });
      continue;
    }
    addSymbols(advisory.advisoryId, advisory.package, advisory.path, symbols);
  }
  for (const [advisoryId, entry] of Object.entries(overlay)) {
    const known = advisories.some((a) => a.advisoryId === advisoryId);
    if (!known) addSymbols(advisoryId, entry.package, undefined, entry.symbols ?? []);
    if (csr && entry.patterns?.length) {
      const regexes = entry.patterns.map(globToRegex);
      for (let i = 0; i < csr.ids.length; i++) {
        if (regexes.some((r) => r.test(csr.ids[i]!) || (csr.names[i] !== '' && r.test(csr.names[i]!)))) {
          add({ symbolId: csr.ids[i]!, advisoryId, ...(entry.package ? { package: entry.package } : {}) });
        }
      }
    }
  }
  return [...out.values()].sort((a, b) => {
    const ka = `${a.symbolId ?? ''}\u0000${a.advisoryId ?? ''}`;
    const kb = `${b.symbolId ?? ''}\u0000${b.advisoryId ?? ''}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}
