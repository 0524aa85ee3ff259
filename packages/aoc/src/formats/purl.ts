// SPDX-License-Identifier: Apache-2.0
// Syntactic purl canonicalisation for linksets (spec §3.2: `pkg:type/namespace/name@version`,
// qualifiers and subpath stripped), delegated to packageurl-js, the purl project's reference
// implementation, for parsing, per-type case rules and validation. It never resolves or guesses packages.

import { PackageURL } from 'packageurl-js';

export interface PurlParts {
  type: string;
  namespace: string[];
  name: string;
  version: string | null;
}

/**
 * packageurl-js keeps `+ ! ' ( ) *` literal (it encodes with encodeURIComponent and un-encodes `+`
 * in versions), but the purl spec's canonical form permits only alphanumerics, `.-_~`, `%`, `:`
 * and the separators. Encoding them here keeps `pkg:pypi/x@1.0%2Blocal` one linkset key, the
 * same key rows written before the switch to packageurl-js carry; otherwise joins across
 * sources that spell it differently miss.
 */
function encodeSubDelimiters(purl: string): string {
  const slash = purl.indexOf('/');
  return (
    purl.slice(0, slash) +
    purl.slice(slash).replace(/[!'()*+]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  );
}

/** Parses a purl string; null when packageurl-js rejects it. Qualifiers and subpath are dropped. */
export function parsePurl(input: string): PurlParts | null {
  let purl: PackageURL;
  try {
    purl = PackageURL.fromString(input.trim());
  } catch {
    return null;
  }
  return {
    type: purl.type,
    namespace: purl.namespace ? purl.namespace.split('/') : [],
    name: purl.name,
    version: purl.version ? purl.version : null,
  };
}

/** Builds the canonical string; throws packageurl-js's error when the parts do not form a valid purl. */
export function formatPurl(parts: PurlParts): string {
  const namespace = parts.namespace.length === 0 ? null : parts.namespace.join('/');
  return encodeSubDelimiters(new PackageURL(parts.type, namespace, parts.name, parts.version, null, null).toString());
}

/**
 * Formats, or null when packageurl-js refuses the stripped form: some types are only valid with
 * qualifiers (conan with a namespace needs `user`/`channel`), so their linkset purl is skipped.
 */
function tryFormat(parts: PurlParts): string | null {
  try {
    return formatPurl(parts);
  } catch {
    return null;
  }
}

/** `pkg:type/namespace/name@version`, or null when the input is not a parsable purl. */
export function canonicalPurl(input: string): string | null {
  const parts = parsePurl(input);
  return parts === null ? null : tryFormat(parts);
}

/**
 * The canonical purl without its version. It is cut from the versioned form rather than rebuilt
 * without a version, because packageurl-js refuses a version-less purl for types whose spec
 * requires one (cran, swift) while the package-level join key still has to exist for them.
 */
export function packageLevelPurl(input: string): string | null {
  const parts = parsePurl(input);
  if (parts === null) return null;
  const canonical = tryFormat(parts);
  if (canonical === null || parts.version === null) return canonical;
  // Every '@' inside a component is percent-encoded, so the last one is the version separator.
  return canonical.slice(0, canonical.lastIndexOf('@'));
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
  return tryFormat({ type, namespace: segments, name: last, version: null });
}
