// SPDX-License-Identifier: Apache-2.0
// A component's coordinates from its purl: the OSV ecosystem and package name advisories use. The
// purl grammar is packageurl-js's (the package-url project's own library); the mapping of purl types
// and distribution namespaces onto OSV ecosystems is here, and a type it does not know stays unknown
// rather than guessed.
import { PackageURL } from 'packageurl-js';

export interface PurlCoordinates {
  purl: string;
  ecosystem: string | undefined;
  packageName: string;
  version: string | undefined;
}

/** purl types whose OSV ecosystem does not depend on the namespace. */
const LANGUAGE_ECOSYSTEMS: Readonly<Record<string, string>> = {
  npm: 'npm',
  pypi: 'PyPI',
  maven: 'Maven',
  golang: 'Go',
  cargo: 'crates.io',
  gem: 'RubyGems',
  nuget: 'NuGet',
  composer: 'Packagist',
  pub: 'Pub',
  hackage: 'Hackage',
  cran: 'CRAN',
};

/** Distribution purls: the namespace names the distribution (purl-spec PURL-TYPES.rst). */
const DISTRIBUTIONS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  deb: { debian: 'Debian', ubuntu: 'Ubuntu' },
  apk: { alpine: 'Alpine', wolfi: 'Wolfi', chainguard: 'Chainguard' },
  rpm: {
    redhat: 'Red Hat',
    almalinux: 'AlmaLinux',
    rocky: 'Rocky Linux',
    'rocky-linux': 'Rocky Linux',
    opensuse: 'openSUSE',
    suse: 'SUSE',
  },
};

/** OSV writes a Maven package `group:artifact`; npm, Go and Packagist keep the namespace with `/`. */
function osvPackageName(purl: PackageURL): string {
  if (!purl.namespace) return purl.name;
  if (purl.type === 'maven') return `${purl.namespace}:${purl.name}`;
  if (['npm', 'golang', 'composer'].includes(purl.type)) return `${purl.namespace}/${purl.name}`;
  return purl.name;
}

/** `distro=debian-12` or `distro=12` → `Debian:12`; OSV keys distribution advisories by release. */
function distributionEcosystem(purl: PackageURL): string | undefined {
  const base = DISTRIBUTIONS[purl.type]?.[purl.namespace?.toLowerCase() ?? ''];
  if (!base) return undefined;
  const distro = purl.qualifiers?.distro;
  const release = distro?.replace(new RegExp(`^${purl.namespace}-`, 'i'), '');
  return release ? `${base}:${release}` : base;
}

/** The purl's coordinates; throws packageurl-js's error for text that is not a valid purl. */
export function purlCoordinates(text: string): PurlCoordinates {
  const purl = PackageURL.fromString(text.trim());
  return {
    purl: purl.toString(),
    ecosystem: LANGUAGE_ECOSYSTEMS[purl.type] ?? distributionEcosystem(purl),
    packageName: osvPackageName(purl),
    version: purl.version ?? undefined,
  };
}
