// SPDX-License-Identifier: Apache-2.0
// Syntactic purl canonicalisation for linksets (spec §3.2: `pkg:type/namespace/name@version`,
// qualifiers and subpath stripped). Follows the purl specification's parse and build rules and its
// per-type case rules; it never resolves or guesses packages. packageurl-js is not installed in
// this workspace, so this is a small spec-following implementation instead of a dependency.

/** Types whose namespace and name are case-insensitive (purl-spec PURL-TYPES). */
const LOWERCASE_NAMESPACE_AND_NAME = new Set([
  'bitbucket',
  'github',
  'composer',
  'hex',
  'npm',
  'apk',
  'deb',
  'alpm',
  'qpkg',
  'bitnami',
]);
const LOWERCASE_NAME = new Set(['pub', 'oci', 'pypi', 'huggingface']);
const LOWERCASE_NAMESPACE = new Set(['rpm']);

const TYPE_RE = /^[a-z.+-][a-z0-9.+-]*$/;

export interface PurlParts {
  type: string;
  namespace: string[];
  name: string;
  version: string | null;
}

function decode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** Percent-encodes everything but unreserved characters; ':' stays literal as the spec allows. */
function encode(segment: string): string {
  return encodeURIComponent(segment)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replaceAll('%3A', ':');
}

/** Parses a purl string; null when it is not one. Qualifiers and subpath are dropped. */
export function parsePurl(input: string): PurlParts | null {
  const text = input.trim();
  if (!/^pkg:/i.test(text)) return null;
  let rest = text.slice(4).replace(/^\/+/, '');
  const hash = rest.indexOf('#');
  if (hash !== -1) rest = rest.slice(0, hash);
  const question = rest.indexOf('?');
  if (question !== -1) rest = rest.slice(0, question);
  rest = rest.replace(/\/+$/, '');
  const slash = rest.indexOf('/');
  if (slash <= 0) return null;
  const type = rest.slice(0, slash).toLowerCase();
  if (!TYPE_RE.test(type)) return null;
  const path = rest.slice(slash + 1);
  const segments = path.split('/').filter((s) => s !== '');
  let last = segments.pop();
  if (last === undefined) return null;
  // The version separator is the last '@' of the last segment, so `pkg:npm/@scope/name`
  // (scope written unencoded) keeps its namespace.
  let version: string | null = null;
  const at = last.lastIndexOf('@');
  if (at > 0) {
    const rawVersion = last.slice(at + 1);
    last = last.slice(0, at);
    const decodedVersion = decode(rawVersion);
    if (decodedVersion === null) return null;
    version = decodedVersion === '' ? null : decodedVersion;
  } else if (at === 0) {
    return null;
  }
  let name = decode(last);
  if (name === null || name === '') return null;
  let namespace: string[] = [];
  for (const segment of segments) {
    const decoded = decode(segment);
    if (decoded === null || decoded.includes('/')) return null;
    if (decoded !== '') namespace.push(decoded);
  }
  if (LOWERCASE_NAMESPACE_AND_NAME.has(type)) {
    namespace = namespace.map((s) => s.toLowerCase());
    name = name.toLowerCase();
  } else if (LOWERCASE_NAMESPACE.has(type)) {
    namespace = namespace.map((s) => s.toLowerCase());
  }
  if (LOWERCASE_NAME.has(type)) name = name.toLowerCase();
  if (type === 'pypi') name = name.replaceAll('_', '-');
  return { type, namespace, name, version };
}

export function formatPurl(parts: PurlParts): string {
  const path = [...parts.namespace, parts.name].map(encode).join('/');
  return `pkg:${parts.type}/${path}${parts.version === null ? '' : `@${encode(parts.version)}`}`;
}

/** `pkg:type/namespace/name@version`, or null when the input is not a parsable purl. */
export function canonicalPurl(input: string): string | null {
  const parts = parsePurl(input);
  return parts === null ? null : formatPurl(parts);
}

/** The canonical purl without its version. */
export function packageLevelPurl(input: string): string | null {
  const parts = parsePurl(input);
  return parts === null ? null : formatPurl({ ...parts, version: null });
}

/** OSV ecosystem names (as spelled by OSV) mapped to purl types; others get no purl. */
const ECOSYSTEM_TYPES: Record<string, string> = {
  Go: 'golang',
  npm: 'npm',
  PyPI: 'pypi',
  Maven: 'maven',
  'crates.io': 'cargo',
  NuGet: 'nuget',
  RubyGems: 'gem',
  Packagist: 'composer',
  Hex: 'hex',
  Pub: 'pub',
};

/** A package-level purl for an OSV `affected[].package` without one; null for other ecosystems. */
export function purlForEcosystem(ecosystem: string, name: string): string | null {
  const type = ECOSYSTEM_TYPES[ecosystem];
  if (type === undefined || name === '') return null;
  let segments: string[];
  if (type === 'maven') {
    const colon = name.indexOf(':');
    if (colon <= 0) return null;
    segments = [name.slice(0, colon), name.slice(colon + 1)];
  } else if (type === 'golang' || type === 'npm' || type === 'composer') {
    segments = name.split('/');
  } else {
    segments = [name];
  }
  const last = segments.pop();
  if (last === undefined || last === '' || segments.some((s) => s === '')) return null;
  const parts = parsePurl(`pkg:${type}/${[...segments, last].map(encode).join('/')}`);
  return parts === null ? null : formatPurl({ ...parts, version: null });
}
