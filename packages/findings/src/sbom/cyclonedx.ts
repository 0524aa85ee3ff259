// SPDX-License-Identifier: Apache-2.0
// CycloneDX JSON (1.2–1.6; the 1.4–1.6 and the older examples CycloneDX still publishes):
// metadata.component is the subject, components nest (an assembly lists its parts in its own
// `components`), and `dependencies` gives each ref's direct dependsOn.
import type { RawComponent, RawSbom } from './assemble.ts';
import { isObject, type JsonObject, objects, text, texts } from './json.ts';

export const CYCLONEDX_VERSIONS = ['1.2', '1.3', '1.4', '1.5', '1.6'] as const;

function component(entry: JsonObject, fallbackRef: string): RawComponent | undefined {
  const name = text(entry.name);
  if (!name) return undefined;
  return {
    ref: text(entry['bom-ref']) ?? fallbackRef,
    name,
    version: text(entry.version),
    purl: text(entry.purl),
    group: text(entry.group),
    cpe: text(entry.cpe),
  };
}

/** Components in document order, nested ones after their parent; a component without a name is skipped. */
function flatten(list: unknown, out: RawComponent[], skipped: { count: number }): void {
  // An explicit stack instead of recursion: nesting depth is bounded by the JSON limits, but a loop
  // keeps the order obvious and the stack flat.
  const stack: JsonObject[] = objects(list).reverse();
  while (stack.length > 0) {
    const entry = stack.pop()!;
    const parsed = component(entry, `#component-${out.length + skipped.count}`);
    if (parsed) out.push(parsed);
    else skipped.count++;
    stack.push(...objects(entry.components).reverse());
  }
}

export function readCycloneDx(doc: JsonObject, specVersion: string): RawSbom {
  const metadata = isObject(doc.metadata) ? doc.metadata : {};
  const root = isObject(metadata.component) ? component(metadata.component, '#root') : undefined;
  const components: RawComponent[] = [];
  const skipped = { count: 0 };
  flatten(doc.components, components, skipped);
  const edges = objects(doc.dependencies).flatMap((d) => {
    const from = text(d.ref);
    return from ? texts(d.dependsOn).map((to) => ({ from, to })) : [];
  });
  return {
    format: 'cyclonedx',
    specVersion,
    documentId: text(doc.serialNumber),
    root,
    components,
    edges,
    unnamed: skipped.count,
  };
}
