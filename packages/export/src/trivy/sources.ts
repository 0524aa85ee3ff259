// SPDX-License-Identifier: Apache-2.0
// Where a projected advisory goes in trivy.db: the ecosystem slug Trivy's detectors look up, the bucket
// name, the data source (ID, Name, URL) and the package name as trivy-db normalises it. The rules follow
// trivy-db (aquasecurity/trivy-db pkg/vulnsrc/osv convertEcosystem, bucket, ghsa, govulndb, osv, alma,
// chainguard, wolfi, vulnerability.NormalizePkgName), read to learn, not copied; docs/trivy.md lists them.
// - Language ecosystems are the ones trivy-db's OSV path maps (Go, npm, PyPI, RubyGems, crates.io,
//   Packagist, Maven, NuGet, Hex, Pub, SwiftURL, Bitnami, Kubernetes); ConanCenter, Julia and CocoaPods
//   reach trivy-db through other sources, so OSV records naming them are 'ecosystem-unsupported'.
// - OS ecosystems: only AlmaLinux:<n>, Chainguard and Wolfi, whose buckets (`alma <n>`, `chainguard`,
//   `wolfi`) and data sources were checked against trivy-db and whose OSV shape against our fixtures.
//   Alpine/Debian/Ubuntu/Rocky OSV are left out: trivy-db builds those buckets from other feeds (with
//   its own version trimming), and we have no fixture to check a projection against.
// - The data source is chosen by the document id's database (GHSA-, GO-, PYSEC-) or the OS ecosystem,
//   whatever vendor delivered it (an osv.dev mirror of GHSA is still GHSA data); anything else gets a
//   stella source `<eco>::stella <vendor>` with ID `stella-<vendor>`.
import type { DataSource } from './types.ts';

export interface LangEcosystem {
  kind: 'lang';
  /** Trivy's ecosystem slug, the bucket prefix. */
  slug: string;
  /** The OSV ecosystem name the version comparator of @stella/findings knows, if it has one. */
  versions?: string;
}

export interface OsEcosystem {
  kind: 'os';
  /** The bucket name (`alma 8`, `chainguard`, `wolfi`). */
  bucket: string;
  versions: string;
  source: DataSource;
}

export type TrivyEcosystem = LangEcosystem | OsEcosystem;

/** OSV ecosystem (lowercased) → Trivy slug and the comparator to check versions with. */
const LANG: Record<string, LangEcosystem> = {
  go: { kind: 'lang', slug: 'go', versions: 'Go' },
  npm: { kind: 'lang', slug: 'npm', versions: 'npm' },
  pypi: { kind: 'lang', slug: 'pip', versions: 'PyPI' },
  rubygems: { kind: 'lang', slug: 'rubygems', versions: 'RubyGems' },
  'crates.io': { kind: 'lang', slug: 'cargo', versions: 'crates.io' },
  packagist: { kind: 'lang', slug: 'composer', versions: 'Packagist' },
  maven: { kind: 'lang', slug: 'maven', versions: 'Maven' },
  nuget: { kind: 'lang', slug: 'nuget', versions: 'NuGet' },
  hex: { kind: 'lang', slug: 'erlang' },
  pub: { kind: 'lang', slug: 'pub', versions: 'Pub' },
  swifturl: { kind: 'lang', slug: 'swift' },
  'purl-type:swift': { kind: 'lang', slug: 'swift' },
  bitnami: { kind: 'lang', slug: 'bitnami' },
  kubernetes: { kind: 'lang', slug: 'k8s' },
};

const ALMA: DataSource = { ID: 'alma', Name: 'AlmaLinux Product Errata', URL: 'https://errata.almalinux.org/' };
const CHAINGUARD: DataSource = {
  ID: 'chainguard',
  Name: 'Chainguard Security Data',
  URL: 'https://advisories.cgr.dev/chainguard/v3/osv/all.json',
};
const WOLFI: DataSource = { ID: 'wolfi', Name: 'Wolfi Secdb', URL: 'https://packages.wolfi.dev/os/security.json' };

/** The Trivy side of an OSV `affected[].package.ecosystem`, or undefined when Trivy has no place for it. */
export function trivyEcosystem(osvEcosystem: string): TrivyEcosystem | undefined {
  const lang = LANG[osvEcosystem.toLowerCase()];
  if (lang) return lang;
  if (osvEcosystem === 'Chainguard')
    return { kind: 'os', bucket: 'chainguard', versions: 'Chainguard', source: CHAINGUARD };
  if (osvEcosystem === 'Wolfi') return { kind: 'os', bucket: 'wolfi', versions: 'Wolfi', source: WOLFI };
  // trivy-db's Alma buckets are per major release (`alma 8`); a minor suffix would never be looked up.
  const alma = /^AlmaLinux:(\d+)$/.exec(osvEcosystem);
  if (alma) return { kind: 'os', bucket: `alma ${alma[1]}`, versions: 'AlmaLinux', source: ALMA };
  return undefined;
}

/** GHSA's platform names per Trivy slug (trivy-db names the buckets `<slug>::GitHub Security Advisory <name>`). */
const GHSA_PLATFORMS: Record<string, string> = {
  composer: 'Composer',
  go: 'Go',
  maven: 'Maven',
  npm: 'npm',
  nuget: 'NuGet',
  pip: 'pip',
  rubygems: 'RubyGems',
  cargo: 'Rust',
  erlang: 'Erlang',
  pub: 'Pub',
  swift: 'Swift',
};

function ghsaSource(slug: string): DataSource | undefined {
  const platform = GHSA_PLATFORMS[slug];
  if (!platform) return undefined;
  return {
    ID: 'ghsa',
    Name: `GitHub Security Advisory ${platform}`,
    URL: `https://github.com/advisories?query=type%3Areviewed+ecosystem%3A${platform.toLowerCase()}`,
  };
}

const GO_VULNDB: DataSource = {
  ID: 'go-vulndb',
  Name: 'The Go Vulnerability Database',
  URL: 'https://github.com/golang/vulndb',
};
const PYPA: DataSource = {
  ID: 'osv',
  Name: 'Python Packaging Advisory Database',
  URL: 'https://github.com/pypa/advisory-db',
};

/** Vendor names are free text in stella.yaml; in source names and ids only a tame spelling is used. */
export function vendorSlug(vendor: string): string {
  const slug = vendor
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug === '' ? 'unknown' : slug.slice(0, 64);
}

/** The data source of a language advisory: by the document's database, else a stella source of the vendor. */
export function langSource(slug: string, documentId: string, vendor: string): DataSource {
  if (documentId.startsWith('GHSA-')) {
    const ghsa = ghsaSource(slug);
    if (ghsa) return ghsa;
  }
  if (documentId.startsWith('GO-') && slug === 'go') return GO_VULNDB;
  if (documentId.startsWith('PYSEC-') && slug === 'pip') return PYPA;
  const name = vendorSlug(vendor);
  return { ID: `stella-${name}`, Name: `stella ${name}` };
}

export const langBucket = (slug: string, source: DataSource) => `${slug}::${source.Name}`;

/** Package names as trivy-db's NormalizePkgName stores them, so Trivy's lookups find them. */
export function normalisePackage(slug: string, name: string): string {
  switch (slug) {
    case 'pip':
      // trivy-db: lowercase and `_` → `-` (PEP 426); `.` is kept, as trivy-db keeps it.
      return name.toLowerCase().replaceAll('_', '-');
    case 'swift':
      return name.replace(/^https:\/\//, '').replace(/\.git$/, '');
    case 'go':
    case 'cocoapods':
    case 'julia':
      return name;
    default:
      return name.toLowerCase();
  }
}

/** C0 controls, DEL and C1 controls (checked by code point: biome refuses control characters in a regex). */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

/**
 * Why `key` cannot be a bbolt key Trivy looks up, or undefined when it can: empty, control characters
 * (including DEL and C1), lone surrogates (not encodable as UTF-8), or longer than a sane id.
 */
export function badKey(key: string): string | undefined {
  if (key.trim() === '') return 'empty';
  if (key.length > 512) return 'longer than 512 characters';
  if (hasControl(key)) return 'contains control characters';
  if (!key.isWellFormed()) return 'is not valid UTF-8 (lone surrogate)';
  if (key !== key.trim()) return 'has leading or trailing whitespace';
  return undefined;
}
