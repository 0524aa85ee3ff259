// SPDX-License-Identifier: Apache-2.0
// A parsed SBOM as the rows stored for it: the root (when named) at ord 0, then the components in
// document order, and each edge as the ords of its two ends. Pure, so the shape is tested apart
// from the database.
import type { SbomComponentRow, SbomEdgeRow } from '../sql/sboms.ts';
import type { ParsedSbom, SbomComponent } from './model.ts';

function componentRow(component: SbomComponent, ord: number, isRoot: boolean): SbomComponentRow {
  return {
    ord,
    ref: component.ref,
    name: component.name,
    version: component.version ?? null,
    purl: component.purl ?? null,
    ecosystem: component.ecosystem ?? null,
    package_name: component.packageName,
    identified_by: component.identifiedBy,
    is_root: isRoot,
  };
}

export function sbomRows(parsed: ParsedSbom): { components: SbomComponentRow[]; edges: SbomEdgeRow[] } {
  const all = parsed.root ? [parsed.root, ...parsed.components] : parsed.components;
  const components = all.map((c, ord) => componentRow(c, ord, parsed.root !== undefined && ord === 0));
  const ordOf = new Map<string, number>();
  for (const row of components) if (!ordOf.has(row.ref)) ordOf.set(row.ref, row.ord);
  // The reader reports dangling edges as issues and drops them; an end still unknown here is skipped
  // rather than stored pointing nowhere (the foreign key would refuse the whole SBOM).
  const edges = parsed.edges.flatMap((edge) => {
    const from = ordOf.get(edge.from);
    const to = ordOf.get(edge.to);
    return from === undefined || to === undefined ? [] : [{ from_ord: from, to_ord: to }];
  });
  const unique = new Map(edges.map((e) => [`${e.from_ord}:${e.to_ord}`, e]));
  return { components, edges: [...unique.values()] };
}
