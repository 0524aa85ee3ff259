// SPDX-License-Identifier: Apache-2.0
// Which OSV `affected[].package` is a component's package. Producers spell ecosystems differently
// (GHSA writes crates.io, others Cargo; distributions append a release: Debian:12, Alpine:v3.18), so an
// ecosystem is compared by the comparator registry's canonical name. A release on either side narrows:
// `Debian:12` meets `Debian:12` and a bare `Debian` advisory (one that holds for every release); a bare
// `Debian` component meets every `Debian:*` advisory, because nothing says which release it came from
// and missing a vulnerability is worse than reporting one the caller can rule out by release.
// An ecosystem the registry does not know is compared by its lowercased spelling, so the caller can
// still report "unknown ecosystem" for the advisories that name the package instead of dropping them.
import { isObject, objects, text } from '../sbom/json.ts';
import { type Ecosystem, findEcosystem } from '../versions/ecosystems.ts';

export interface OsvPackage {
  ecosystem: string;
  name: string;
}

export interface PackageKey {
  /** The registry's ecosystem, or undefined when the registry does not know the name. */
  readonly known: Ecosystem | undefined;
  /** The canonical name (known) or the lowercased spelling (unknown), without the release. */
  readonly base: string;
  /** The release (Debian:12 → "12") or repository (Maven:https://…) after `:`, normalised. */
  readonly release: string | undefined;
  readonly name: string;
}

// Package names per the OSV ecosystem definitions (ossf/osv-schema docs/schema.md "Defined ecosystems"):
// PyPI names are compared after PEP 503 normalisation (lowercase, runs of `-`, `_`, `.` → `-`); NuGet
// package ids and Packagist (Composer) names are case-insensitive by definition, so they are lowercased.
// Every other ecosystem compares names exactly: npm names (including `@scope/`), Maven `group:artifact`,
// Go module paths, crates, gems and distribution source packages are case-sensitive identifiers there.
function normaliseName(ecosystem: string | undefined, name: string): string {
  if (ecosystem === 'PyPI') return name.toLowerCase().replace(/[-_.]+/g, '-');
  if (ecosystem === 'NuGet' || ecosystem === 'Packagist') return name.toLowerCase();
  return name;
}

// Alpine writes its releases both as v3.18 (OSV) and 3.18 (os-release): the leading v is not part of it.
const normaliseRelease = (release: string) => release.toLowerCase().replace(/^v(?=[0-9])/, '');

// Maven and Packagist take a `:<REMOTE-REPO-URL>` suffix in OSV (Maven:https://maven.google.com; none
// means Maven Central / packagist.org). It narrows like a release: a component that does not say its
// repository meets the advisories of every repository, one that says it meets its own and bare ones.
const REPOSITORY_SUFFIXED = new Set(['Maven', 'Packagist']);

function ecosystemOf(trimmed: string, colon: number): Ecosystem | undefined {
  const found = findEcosystem(trimmed);
  if (found || colon <= 0) return found;
  const base = findEcosystem(trimmed.slice(0, colon));
  return base && REPOSITORY_SUFFIXED.has(base.name) ? base : undefined;
}

export function packageKey(ecosystem: string, name: string): PackageKey {
  const trimmed = ecosystem.trim();
  const colon = trimmed.indexOf(':');
  const known = ecosystemOf(trimmed, colon);
  const suffixed = known !== undefined && colon > 0 && (known.releaseSuffix || REPOSITORY_SUFFIXED.has(known.name));
  const release = suffixed ? normaliseRelease(trimmed.slice(colon + 1)) : undefined;
  return {
    known,
    base: known ? known.name : trimmed.toLowerCase(),
    release,
    name: normaliseName(known?.name, name.trim()),
  };
}

/** Whether an advisory's package (`advisory`) names the component's package (`component`). */
export function samePackage(component: PackageKey, advisory: PackageKey): boolean {
  if (component.base !== advisory.base || component.name !== advisory.name) return false;
  if (component.release === undefined || advisory.release === undefined) return true;
  return component.release === advisory.release;
}

/** The `package` of one `affected[]` entry, when it has an ecosystem and a name. */
export function entryPackage(entry: unknown): OsvPackage | undefined {
  if (!isObject(entry) || !isObject(entry.package)) return undefined;
  const ecosystem = text(entry.package.ecosystem);
  const name = text(entry.package.name);
  return ecosystem && name ? { ecosystem, name } : undefined;
}

/** The `affected[]` entries of a document, as objects (anything else is skipped). */
export function affectedEntries(doc: unknown): ReturnType<typeof objects> {
  return isObject(doc) ? objects(doc.affected) : [];
}

/** The (ecosystem, name) pairs an OSV document names, once each, as written; used to pick candidates. */
export function osvPackagesOf(doc: unknown): OsvPackage[] {
  const seen = new Set<string>();
  const out: OsvPackage[] = [];
  for (const entry of affectedEntries(doc)) {
    const pkg = entryPackage(entry);
    if (!pkg) continue;
    const key = `${pkg.ecosystem}\u0000${pkg.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(pkg);
  }
  return out;
}
