// SPDX-License-Identifier: Apache-2.0
// examples/node-app as the findings tests see it: npm's own SBOMs of the app and the packages they list.
import { readFileSync } from 'node:fs';

/** The bytes of one of the example's SBOMs (sbom.cdx.json, sbom.spdx.json), exactly as npm wrote them. */
export const nodeAppSbom = (file: string): Buffer =>
  readFileSync(new URL(`../../../examples/node-app/${file}`, import.meta.url));

/** Every component besides the app itself, sorted. */
export const NODE_APP_PURLS = [
  'pkg:npm/accepts@1.3.8',
  'pkg:npm/array-flatten@1.1.1',
  'pkg:npm/asap@2.0.6',
  'pkg:npm/body-parser@1.19.0',
  'pkg:npm/bytes@3.1.0',
  'pkg:npm/camelcase@5.3.1',
  'pkg:npm/content-disposition@0.5.3',
  'pkg:npm/content-type@1.0.5',
  'pkg:npm/cookie-signature@1.0.6',
  'pkg:npm/cookie@0.4.0',
  'pkg:npm/debug@2.6.9',
  'pkg:npm/decamelize@1.2.0',
  'pkg:npm/depd@1.1.2',
  'pkg:npm/destroy@1.0.4',
  'pkg:npm/dezalgo@1.0.4',
  'pkg:npm/ee-first@1.1.1',
  'pkg:npm/encodeurl@1.0.4',
  'pkg:npm/escape-html@1.0.3',
  'pkg:npm/etag@1.8.1',
  'pkg:npm/express@4.17.1',
  'pkg:npm/finalhandler@1.1.2',
  'pkg:npm/formidable@3.5.2',
  'pkg:npm/forwarded@0.2.0',
  'pkg:npm/fresh@0.5.2',
  'pkg:npm/hexoid@2.0.0',
  'pkg:npm/http-errors@1.7.2',
  'pkg:npm/iconv-lite@0.4.24',
  'pkg:npm/inherits@2.0.3',
  'pkg:npm/ipaddr.js@1.9.1',
  'pkg:npm/lru-cache@6.0.0',
  'pkg:npm/media-typer@0.3.0',
  'pkg:npm/merge-descriptors@1.0.1',
  'pkg:npm/methods@1.1.2',
  'pkg:npm/mime-db@1.52.0',
  'pkg:npm/mime-types@2.1.35',
  'pkg:npm/mime@1.6.0',
  'pkg:npm/ms@2.0.0',
  'pkg:npm/ms@2.1.1',
  'pkg:npm/negotiator@0.6.3',
  'pkg:npm/on-finished@2.3.0',
  'pkg:npm/once@1.4.0',
  'pkg:npm/parseurl@1.3.3',
  'pkg:npm/path-to-regexp@0.1.7',
  'pkg:npm/proxy-addr@2.0.8',
  'pkg:npm/qs@6.7.0',
  'pkg:npm/range-parser@1.2.1',
  'pkg:npm/raw-body@2.4.0',
  'pkg:npm/safe-buffer@5.1.2',
  'pkg:npm/safer-buffer@2.1.2',
  'pkg:npm/semver@7.5.1',
  'pkg:npm/send@0.17.1',
  'pkg:npm/serve-static@1.14.1',
  'pkg:npm/setprototypeof@1.1.1',
  'pkg:npm/statuses@1.5.0',
  'pkg:npm/toidentifier@1.0.0',
  'pkg:npm/type-is@1.6.18',
  'pkg:npm/unpipe@1.0.0',
  'pkg:npm/utils-merge@1.0.1',
  'pkg:npm/vary@1.1.2',
  'pkg:npm/wrappy@1.0.2',
  'pkg:npm/yallist@4.0.0',
  'pkg:npm/yargs-parser@13.1.1',
];

/** How many dependency edges the lockfile has (root edges included). */
export const NODE_APP_EDGE_COUNT = 98;

interface LockEntry {
  name?: string;
  version?: string;
  dependencies?: Record<string, string>;
}

/**
 * The dependency edges as package-lock.json says them (an oracle independent of the SBOMs): each
 * dependency resolved as Node resolves it, from the nearest node_modules up, spelled with purls.
 */
export function lockfileEdges(): string[] {
  const lock = JSON.parse(nodeAppSbom('package-lock.json').toString('utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const purlAt = (path: string) => {
    const entry = lock.packages[path]!;
    const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    return `pkg:npm/${name.replace('@', '%40')}@${entry.version}`;
  };
  const resolve = (from: string, dep: string): string => {
    for (let dir = from; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf('/node_modules/')))) {
      const candidate = dir ? `${dir}/node_modules/${dep}` : `node_modules/${dep}`;
      if (lock.packages[candidate]) return candidate;
      if (!dir) throw new Error(`${dep} of ${from} is not in the lockfile`);
    }
  };
  const edges: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages))
    for (const dep of Object.keys(entry.dependencies ?? {}))
      edges.push(`${purlAt(path)} → ${purlAt(resolve(path, dep))}`);
  return edges.sort();
}
