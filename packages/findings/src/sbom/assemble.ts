// SPDX-License-Identifier: Apache-2.0
// From the entries a format reader found to the ParsedSbom: each component's coordinates, duplicate
// refs dropped, edges checked against known refs, cycles counted. Shared by both formats, so a
// CycloneDX and an SPDX document of the same tree read the same.
import type { ParsedSbom, SbomComponent, SbomEdge, SbomFormat, SbomIssue } from './model.ts';
import { purlCoordinates } from './purl.ts';

/** A component as a format reader sees it, before coordinates. */
export interface RawComponent {
  ref: string;
  name: string;
  version: string | undefined;
  purl: string | undefined;
  /** Maven group or similar namespace when there is no purl (CycloneDX `group`). */
  group: string | undefined;
  cpe?: string | undefined;
}

export interface RawSbom {
  format: SbomFormat;
  specVersion: string;
  documentId: string | undefined;
  root: RawComponent | undefined;
  components: RawComponent[];
  edges: SbomEdge[];
  /** Entries without a name, skipped (nothing can match them). */
  unnamed: number;
}

function toComponent(raw: RawComponent, issues: SbomIssue[]): SbomComponent {
  const fallback: SbomComponent = {
    ref: raw.ref,
    name: raw.name,
    version: raw.version,
    purl: undefined,
    ecosystem: undefined,
    packageName: raw.group ? `${raw.group}:${raw.name}` : raw.name,
    identifiedBy: 'name-version',
    // Only when given, so a component without one carries no empty key.
    ...(raw.cpe === undefined ? {} : { cpe: raw.cpe }),
  };
  if (raw.purl === undefined) {
    issues.push({ kind: 'missing-purl', ref: raw.ref, detail: `${raw.name}@${raw.version ?? '?'} has no purl` });
    return fallback;
  }
  try {
    const c = purlCoordinates(raw.purl);
    if (c.ecosystem === undefined)
      issues.push({ kind: 'unknown-ecosystem', ref: raw.ref, detail: `${c.purl}: no OSV ecosystem for this type` });
    return {
      ...fallback,
      purl: c.purl,
      ecosystem: c.ecosystem,
      packageName: c.packageName,
      version: raw.version ?? c.version,
      identifiedBy: 'purl',
    };
  } catch (error) {
    issues.push({
      kind: 'invalid-purl',
      ref: raw.ref,
      detail: `${JSON.stringify(raw.purl)}: ${(error as Error).message}`,
    });
    return fallback;
  }
}

function uniqueComponents(raw: RawSbom, issues: SbomIssue[]): SbomComponent[] {
  const seen = new Set<string>(raw.root ? [raw.root.ref] : []);
  const byPurl = new Map<string, string>();
  const out: SbomComponent[] = [];
  for (const entry of raw.components) {
    if (seen.has(entry.ref)) {
      issues.push({
        kind: 'duplicate-ref',
        ref: entry.ref,
        detail: `ref ${entry.ref} appears again; the first is kept`,
      });
      continue;
    }
    seen.add(entry.ref);
    const component = toComponent(entry, issues);
    const earlier = component.purl ? byPurl.get(component.purl) : undefined;
    if (earlier)
      issues.push({ kind: 'duplicate-purl', ref: entry.ref, detail: `${component.purl} is also ${earlier}` });
    else if (component.purl) byPurl.set(component.purl, entry.ref);
    out.push(component);
  }
  return out;
}

function knownEdges(edges: readonly SbomEdge[], refs: ReadonlySet<string>, issues: SbomIssue[]): SbomEdge[] {
  const unique = new Map<string, SbomEdge>();
  for (const edge of edges) {
    const missing = [edge.from, edge.to].find((ref) => !refs.has(ref));
    if (missing !== undefined) {
      issues.push({
        kind: 'dangling-edge',
        ref: missing,
        detail: `${edge.from} → ${edge.to}: ${missing} is not a component`,
      });
      continue;
    }
    unique.set(`${edge.from}\u0000${edge.to}`, edge);
  }
  return [...unique.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, edge]) => edge);
}

/** Counts the edges that close a cycle (iterative DFS, so a 100k-deep chain cannot overflow the stack). */
function cycleEdges(refs: readonly string[], edges: readonly SbomEdge[]): SbomEdge[] {
  const next = new Map<string, string[]>();
  for (const e of edges) {
    const list = next.get(e.from);
    if (list) list.push(e.to);
    else next.set(e.from, [e.to]);
  }
  const state = new Map<string, 'open' | 'done'>();
  const closing: SbomEdge[] = [];
  for (const start of refs) {
    if (state.has(start)) continue;
    const stack: { ref: string; i: number }[] = [{ ref: start, i: 0 }];
    state.set(start, 'open');
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const to = next.get(top.ref)?.[top.i++];
      if (to === undefined) {
        state.set(top.ref, 'done');
        stack.pop();
      } else if (state.get(to) === 'open') closing.push({ from: top.ref, to });
      else if (!state.has(to)) {
        state.set(to, 'open');
        stack.push({ ref: to, i: 0 });
      }
    }
  }
  return closing;
}

export function assemble(raw: RawSbom): ParsedSbom {
  const issues: SbomIssue[] = [];
  if (raw.unnamed > 0)
    issues.push({ kind: 'unnamed-component', detail: `${raw.unnamed} component(s) without a name were skipped` });
  const root = raw.root ? toComponent(raw.root, issues) : undefined;
  const components = uniqueComponents(raw, issues);
  const refs = [...(root ? [root.ref] : []), ...components.map((c) => c.ref)];
  const edges = knownEdges(raw.edges, new Set(refs), issues);
  for (const edge of cycleEdges(refs, edges))
    issues.push({
      kind: 'cycle',
      ref: edge.from,
      detail: `${edge.from} → ${edge.to} closes a dependency cycle (kept)`,
    });
  return {
    format: raw.format,
    specVersion: raw.specVersion,
    documentId: raw.documentId,
    root,
    components,
    edges,
    issues,
  };
}
