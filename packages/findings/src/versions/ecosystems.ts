// SPDX-License-Identifier: Apache-2.0
// OSV ecosystem names (ossf/osv-schema docs/schema.md "Defined ecosystems") mapped onto version
// schemes. Producers spell ecosystems differently (GHSA writes crates.io where other paths write
// Cargo, distributions append a release: Debian:12, Alpine:v3.18, Ubuntu:22.04:LTS), so names match
// case-insensitively, purl types are accepted as aliases, and distribution names take a `:` suffix.
import { apkScheme } from './apk.ts';
import { cranScheme } from './cran.ts';
import { dpkgScheme } from './dpkg.ts';
import { goScheme } from './go.ts';
import { hackageScheme } from './hackage.ts';
import { mavenScheme } from './maven.ts';
import { nugetScheme } from './nuget.ts';
import { packagistScheme } from './packagist.ts';
import { pubScheme } from './pub.ts';
import { pypiScheme } from './pypi.ts';
import { rpmScheme } from './rpm.ts';
import { rubygemsScheme } from './rubygems.ts';
import type { VersionScheme } from './scheme.ts';
import { cratesScheme, npmScheme } from './semver.ts';

export interface Ecosystem {
  /** The OSV name, as printed. */
  readonly name: string;
  readonly aliases: readonly string[];
  /** Whether `Name:release` (Debian:12, Alpine:v3.18) names this ecosystem too. */
  readonly releaseSuffix: boolean;
  readonly scheme: AnyScheme;
}

/** A VersionScheme whose parse type is hidden: each scheme is only ever fed its own parse results. */
export interface AnyScheme {
  readonly id: string;
  readonly rule: string;
  use<R>(f: <T>(scheme: VersionScheme<T>) => R): R;
}

const wrap = <T>(scheme: VersionScheme<T>): AnyScheme => ({ id: scheme.id, rule: scheme.rule, use: (f) => f(scheme) });

export const ECOSYSTEMS: readonly Ecosystem[] = [
  { name: 'npm', aliases: [], releaseSuffix: false, scheme: wrap(npmScheme) },
  { name: 'crates.io', aliases: ['cargo'], releaseSuffix: false, scheme: wrap(cratesScheme) },
  { name: 'PyPI', aliases: [], releaseSuffix: false, scheme: wrap(pypiScheme) },
  { name: 'Maven', aliases: [], releaseSuffix: false, scheme: wrap(mavenScheme) },
  { name: 'Go', aliases: ['golang'], releaseSuffix: false, scheme: wrap(goScheme) },
  { name: 'RubyGems', aliases: ['gem'], releaseSuffix: false, scheme: wrap(rubygemsScheme) },
  { name: 'NuGet', aliases: [], releaseSuffix: false, scheme: wrap(nugetScheme) },
  { name: 'Packagist', aliases: ['composer'], releaseSuffix: false, scheme: wrap(packagistScheme) },
  { name: 'Pub', aliases: [], releaseSuffix: false, scheme: wrap(pubScheme) },
  { name: 'Hackage', aliases: [], releaseSuffix: false, scheme: wrap(hackageScheme) },
  { name: 'CRAN', aliases: [], releaseSuffix: false, scheme: wrap(cranScheme) },
  { name: 'Debian', aliases: ['deb'], releaseSuffix: true, scheme: wrap(dpkgScheme) },
  { name: 'Ubuntu', aliases: [], releaseSuffix: true, scheme: wrap(dpkgScheme) },
  { name: 'Alpine', aliases: ['apk'], releaseSuffix: true, scheme: wrap(apkScheme) },
  { name: 'Wolfi', aliases: [], releaseSuffix: false, scheme: wrap(apkScheme) },
  { name: 'Chainguard', aliases: [], releaseSuffix: false, scheme: wrap(apkScheme) },
  { name: 'Red Hat', aliases: ['redhat', 'rpm'], releaseSuffix: true, scheme: wrap(rpmScheme) },
  { name: 'AlmaLinux', aliases: [], releaseSuffix: true, scheme: wrap(rpmScheme) },
  { name: 'Rocky Linux', aliases: [], releaseSuffix: true, scheme: wrap(rpmScheme) },
  { name: 'openSUSE', aliases: [], releaseSuffix: true, scheme: wrap(rpmScheme) },
  { name: 'SUSE', aliases: [], releaseSuffix: true, scheme: wrap(rpmScheme) },
];

const byName = new Map<string, Ecosystem>();
for (const ecosystem of ECOSYSTEMS)
  for (const name of [ecosystem.name, ...ecosystem.aliases]) byName.set(name.toLowerCase(), ecosystem);

/** The ecosystem a producer's name means, or undefined; never a guess beyond the documented aliases. */
export function findEcosystem(name: string): Ecosystem | undefined {
  const key = name.trim().toLowerCase();
  const exact = byName.get(key);
  if (exact) return exact;
  const colon = key.indexOf(':');
  if (colon <= 0) return undefined;
  const base = byName.get(key.slice(0, colon));
  return base?.releaseSuffix ? base : undefined;
}
