// The targets a subject's fact reports on: those its recompute request named, else the vulnerable
// symbols advisories name for the graph's packages (plus the operator overlay), else, when nothing
// is known to be vulnerable, the symbols that ran (spec §1.2 step 5).
import { Errors, StellaError } from '@stella/core';
import type { LoadedGraph } from '../callgraphs/graphs.ts';
import type { SignalsContext } from '../context.ts';
import type { CallgraphRow } from '../sql/callgraphs.ts';
import type { Target } from './reachability.ts';
import { resolveTargets } from './targets.ts';

export interface ChosenTargets {
  targets: Target[];
  /** request, advisories or observed: named in the fact's provenance. */
  source: string;
}

/** Default targets per graph hash, resolved once per recompute run and shared by its subjects. */
export type DefaultTargetsCache = Map<string, Promise<ChosenTargets>>;

/** The targets stored with a subject by a recompute request, or undefined when it named none. */
export function explicitTargets(value: unknown): Target[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  return value.map((t): Target => {
    if (typeof t === 'string') return { symbolId: t.normalize('NFC') };
    const o = t as { symbolId?: string; advisoryId?: string; package?: string };
    return {
      ...(o.symbolId ? { symbolId: o.symbolId.normalize('NFC') } : {}),
      ...(o.advisoryId ? { advisoryId: o.advisoryId } : {}),
      ...(o.package ? { package: o.package } : {}),
    };
  });
}

/** Asks the advisories port; without one the facts would silently differ (overlay only), so refuse. */
function vulnerableSymbols(ctx: SignalsContext, tenant: string, packages: readonly string[]) {
  const source = ctx.deps.advisories;
  if (!source) {
    throw new StellaError(
      Errors.internal,
      'signals was built without a vulnerable-symbols source (the AOC room’s vulnerableSymbols), so default reachability targets cannot be resolved; pass `advisories` to createSignals or the signals module',
    );
  }
  return source.vulnerableSymbols(ctx.deps.db, tenant, packages);
}

async function defaultTargets(
  ctx: SignalsContext,
  tenant: string,
  graph: LoadedGraph | undefined,
  packages: readonly string[],
): Promise<ChosenTargets> {
  const advisories = packages.length > 0 ? await vulnerableSymbols(ctx, tenant, packages) : [];
  return { targets: resolveTargets(graph?.csr, advisories, ctx.overlay()), source: 'advisories' };
}

/** The subject's targets; `defaults` caches the advisory ones per graph for the run. */
export async function chooseTargets(
  ctx: SignalsContext,
  tenant: string,
  subject: { targets: unknown },
  graph: { row: CallgraphRow | undefined; loaded: LoadedGraph | undefined },
  hits: ReadonlyMap<string, number>,
  defaults: DefaultTargetsCache,
): Promise<ChosenTargets> {
  const explicit = explicitTargets(subject.targets);
  if (explicit) return { targets: explicit, source: 'request' };
  // Subjects of one graph share their default targets: resolve them once per run.
  const cacheKey = graph.row?.graphHash ?? '';
  let pending = defaults.get(cacheKey);
  if (!pending) {
    pending = defaultTargets(ctx, tenant, graph.loaded, graph.row?.packages ?? []);
    defaults.set(cacheKey, pending);
  }
  const resolved = await pending;
  if (resolved.targets.length > 0) return resolved;
  // Nothing known to be vulnerable: report on what ran (spec §1.2 step 5).
  return { targets: [...hits.keys()].sort().map((symbolId) => ({ symbolId })), source: 'observed' };
}
