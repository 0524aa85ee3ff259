// SPDX-License-Identifier: Apache-2.0
// The ids a Node.js function is known by, the same for the static builder and the runtime observer.
import { symbolId } from '@stella/core';

/** The purl of an npm package (`@scope/name` namespaces percent-encode the `@`). */
export function npmPurl(name: string, version: string): string {
  const encoded = name.startsWith('@') ? `%40${name.slice(1)}` : name;
  return `pkg:npm/${encoded}@${encodeURIComponent(version)}`;
}

/**
 * The `sym:node:` id of a function: (package name, or the file's project path when it is in no
 * package; `<module path>#<qualified name>`; kind).
 */
export function nodeSymbolId(pkgNameOrPath: string, modulePath: string, qualifiedName: string, kind: string): string {
  return symbolId('node', [pkgNameOrPath, `${modulePath}#${qualifiedName}`, kind]);
}
